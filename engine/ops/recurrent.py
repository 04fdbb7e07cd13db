"""Fused recurrent layers: a whole LSTM or GRU sequence is ONE Function with BPTT inside.

Each step does one GEMM for all gates (the LSTM's of ``[x_t; h_t; 1]`` against the stacked weights; the
GRU's of ``[h_t; 1]``, after one batched GEMM for the input side of all steps) and in-place elementwise
gate math on buffers allocated once per call. Inside, per-step arrays are feature-major, (features, N),
so that each gate is one contiguous block. Backward keeps the pre-activation gradients of every step,
laid out (gates, T, N), and forms the weight gradients with one GEMM per side after the loop.

Weights use the engine's ``x @ W`` convention (``W`` is (in, gates)), gates are concatenated along the
last axis in PyTorch's order, so a PyTorch weight ``weight_ih_l0`` is our ``w_ih.T``.

When a graph of the backward is requested (double backward) the gradient is taken through the step-by-step
engine-op cells :func:`lstm_cell` / :func:`gru_cell` (``recurrent_cells.py``) instead, so higher
derivatives are exact too.
"""

from __future__ import annotations

from ..autodiff.errors import ShapeError
from ..autodiff.function import Function
from ..autodiff.graph import composite_gradients
from ..autodiff.mode import is_grad_enabled
from ..autodiff.tensor import Tensor, as_tensor
from .recurrent_cells import _gru_composite, _lstm_composite, gru_cell, lstm_cell

__all__ = ["lstm", "gru", "lstm_cell", "gru_cell"]


def _sigmoid_of_half_(xp, half):
    """In place, ``sigmoid(a) = 0.5 tanh(a / 2) + 0.5`` (one transcendental, no overflow) from
    ``half = a / 2``: the fused ops scale the sigmoid gates' weights
    and biases by 0.5 once per call, which gives ``a / 2`` bit for bit (a power-of-two scale commutes
    with every product and sum), instead of a pass over the gates at every step."""
    xp.tanh(half, out=half)
    half *= 0.5
    half += 0.5


def _halve_columns(xp, array, stop, start=0):
    """A copy of ``array`` with its last axis' columns ``start:stop`` halved (see _sigmoid_of_half_)."""
    out = xp.array(array, copy=True)
    out[..., start:stop] *= 0.5
    return out


def _add_grad(g, shape, xp, dtype):
    return xp.zeros(shape, dtype) if g is None else g.data.astype(dtype, copy=True)


# ---------------------------------------------------------------------- LSTM
def _swap_go(xp, a, hid):
    """Gate columns (i, f, g, o) <-> (i, f, o, g) along the last axis (the swap is its own inverse).

    The weights keep PyTorch's order (checkpoints and export rely on it); inside the fused op the gates
    run as (i, f, o, g), so that one in-place sigmoid covers the three sigmoid gates at once.
    """
    return xp.concatenate([a[..., : 2 * hid], a[..., 3 * hid :], a[..., 2 * hid : 3 * hid]], axis=-1)


class LSTM(Function):
    """Whole-sequence LSTM; inputs (x, h0, c0, w_ih, w_hh, b), outputs (hs, h_T, c_T).

    Inside, the per-step arrays are feature-major, (features, N): a step's GEMM is
    ``a^T = W^T [x_t; h_t; 1]``, so each gate block ``a^T[k H:(k+1) H]`` and each state is one
    contiguous (H, N) block and every elementwise call runs one contiguous loop. (With the batch-major
    (N, 4H) layout a gate is a strided column block, and numpy's per-row inner loops made the
    elementwise calls of a step cost about twice as much at W3's sizes, 64 x 128 per gate.)
    """

    def forward(self, xp, x, h0, c0, w_ih, w_hh, b):
        n, t_steps, inp = x.shape
        hid = h0.shape[1]
        w_ih, w_hh, b = _swap_go(xp, w_ih, hid), _swap_go(xp, w_hh, hid), _swap_go(xp, b, hid)
        # One GEMM per step gives the whole pre-activation: column block t of ``xh`` is [x_t; h_t; 1]
        # and the weights are [w_ih; w_hh; b] stacked, so no input projection, bias pass or
        # ``a += h @ w_hh`` pass; backward takes all three weight gradients from one GEMM over ``xh``
        # (laid out (K, T + 1, N), so that its first T blocks are one (K, T N) matrix without a copy).
        # The sigmoid gates' columns are halved (bit for bit): see _sigmoid_of_half_.
        k_h, k_1 = inp, inp + hid  # where the h part and the ones row start
        w_all = _halve_columns(xp, xp.concatenate([w_ih, w_hh, b[None, :]], axis=0), 3 * hid)
        w_all_t = xp.ascontiguousarray(w_all.T)  # (4H, K)
        xh = xp.empty((k_1 + 1, t_steps + 1, n), x.dtype)
        xh[:k_h, :t_steps] = x.transpose(2, 1, 0)
        xh[:k_h, t_steps] = 0  # the last block only holds h_T
        xh[k_1] = 1
        xh[k_h:k_1, 0] = h0.T
        hs = xh[k_h:k_1]  # h_0 ... h_T: (H, T + 1, N), a view into xh
        acts = xp.empty((t_steps, 4 * hid, n), x.dtype)  # gates (i, f, o, g) after their activations
        cs = xp.empty((t_steps + 1, hid, n), x.dtype)
        tcs = xp.empty((t_steps, hid, n), x.dtype)
        cs[0] = c0.T
        tmp = xp.empty((hid, n), x.dtype)
        for t in range(t_steps):
            a = acts[t]
            xp.matmul(w_all_t, xh[:, t], out=a)
            xp.tanh(a, out=a)  # g's tanh, and tanh(a / 2) for the sigmoid gates i, f, o
            sig = a[: 3 * hid]
            sig *= 0.5
            sig += 0.5
            i, f, o, g = a[:hid], a[hid : 2 * hid], a[2 * hid : 3 * hid], a[3 * hid :]
            c = cs[t + 1]
            xp.multiply(f, cs[t], out=c)
            xp.multiply(i, g, out=tmp)
            c += tmp
            xp.tanh(c, out=tcs[t])
            xp.multiply(o, tcs[t], out=hs[:, t + 1])
        self.xh, self.acts, self.cs, self.tcs = xh, acts, cs, tcs
        self.w_ih_go, self.w_hh_go = w_ih, w_hh
        # Views, not copies: nothing writes to these buffers after the forward pass.
        return hs[:, 1:].transpose(2, 1, 0), hs[:, t_steps].T, cs[t_steps].T

    def backward(self, g_hs, g_h, g_c):
        if is_grad_enabled():
            return composite_gradients(_lstm_composite, self.inputs, (g_hs, g_h, g_c))
        x, h0 = self.inputs[0], self.inputs[1]
        xp = x.xp
        n, t_steps, n_in = x.shape
        hid = h0.shape[1]
        acts, cs, tcs = self.acts, self.cs, self.tcs
        dt = x.dtype
        dh = xp.ascontiguousarray(_add_grad(g_h, (n, hid), xp, dt).T)  # (H, N), like the states here
        dc = xp.ascontiguousarray(_add_grad(g_c, (n, hid), xp, dt).T)
        ghs = None if g_hs is None else g_hs.data
        # pre-activation gradients, gates (i, f, o, g), laid out (4H, T, N) like xh: all steps side by
        # side form the (4H, T N) matrix of the weight gradients' GEMM without a copy
        d_acts = xp.empty((4 * hid, t_steps, n), dt)
        w_hh = self.w_hh_go  # (H, 4H): dh = w_hh @ da
        da = xp.empty((4 * hid, n), dt)  # this step's gate gradients, before the slopes
        slope = xp.empty((4 * hid, n), dt)
        tmp = xp.empty((hid, n), dt)
        for t in range(t_steps - 1, -1, -1):
            if ghs is not None:
                dh += ghs[:, t].T
            a, tc = acts[t], tcs[t]
            # the activations' slopes: s (1 - s) for the sigmoid gates, 1 - g^2 for g
            xp.subtract(1, a[: 3 * hid], out=slope[: 3 * hid])
            slope[: 3 * hid] *= a[: 3 * hid]
            xp.multiply(a[3 * hid :], a[3 * hid :], out=slope[3 * hid :])
            xp.subtract(1, slope[3 * hid :], out=slope[3 * hid :])
            xp.multiply(dh, tc, out=da[2 * hid : 3 * hid])  # d o
            xp.multiply(tc, tc, out=tmp)
            xp.subtract(1, tmp, out=tmp)
            tmp *= a[2 * hid : 3 * hid]
            tmp *= dh
            dc += tmp  # dc += dh * o * (1 - tanh(c)^2)
            xp.multiply(dc, a[3 * hid :], out=da[:hid])  # d i = dc g
            xp.multiply(dc, cs[t], out=da[hid : 2 * hid])  # d f = dc c_prev
            xp.multiply(dc, a[:hid], out=da[3 * hid :])  # d g = dc i
            dc *= a[hid : 2 * hid]
            d_t = d_acts[:, t]
            xp.multiply(da, slope, out=d_t)
            if t or h0.requires_grad:
                xp.matmul(w_hh, d_t, out=dh)
        flat = d_acts.reshape(4 * hid, t_steps * n)
        want = [inp.requires_grad for inp in self.inputs]
        grads = [None] * 6
        if want[0]:
            dx = (self.w_ih_go @ flat).reshape(n_in, t_steps, n)
            grads[0] = xp.ascontiguousarray(dx.transpose(2, 1, 0))
        grads[1], grads[2] = xp.ascontiguousarray(dh.T), xp.ascontiguousarray(dc.T)
        if any(want[3:]):
            # [x_t; h_t; 1] against the gate gradients: w_ih's, w_hh's and b's gradients in one GEMM,
            # in the internal gate order: swap back to the parameters' order
            xh = self.xh[:, :t_steps].reshape(n_in + hid + 1, t_steps * n)
            both = _swap_go(xp, xh @ flat.T, hid)
            parts = (both[:n_in], both[n_in : n_in + hid], both[n_in + hid])
            for k, part in zip((3, 4, 5), parts):
                if want[k]:
                    grads[k] = xp.ascontiguousarray(part)
        return tuple(Tensor(v) if w else None for v, w in zip(grads, want))

    def release(self):
        super().release()
        self.xh = self.acts = self.cs = self.tcs = self.w_ih_go = self.w_hh_go = None


def lstm(x, h0, c0, w_ih, w_hh, b):
    """A whole LSTM sequence in one fused Function (gate order i, f, g, o as PyTorch).

    For each step t: ``a = x_t @ w_ih + h @ w_hh + b``; ``i = sigmoid(a_i)``, ``f = sigmoid(a_f)``,
    ``g = tanh(a_g)``, ``o = sigmoid(a_o)``; ``c = f * c + i * g``; ``h = o * tanh(c)``.
    (ONNX's LSTM orders the gates i, o, f, c: reorder the blocks when exporting.)

    Parameters
    ----------
    x : Tensor, shape (N, T, I), batch first
    h0, c0 : Tensor, shape (N, H)
    w_ih : Tensor, shape (I, 4H)
    w_hh : Tensor, shape (H, 4H)
    b : Tensor, shape (4H,)  (PyTorch's b_ih + b_hh)

    Returns
    -------
    (hs, h_T, c_T): hs (N, T, H) every step's hidden state; h_T, c_T (N, H) the final states.
    """
    x, h0, c0, w_ih, w_hh, b = _check("lstm", 4, x, h0, c0, w_ih, w_hh, b)
    return LSTM()(x, h0, c0, w_ih, w_hh, b)


# ---------------------------------------------------------------------- GRU
def _n_first(xp, a, hid):
    """GRU gate columns (r, z, n) -> (n, r, z) along the last axis; :func:`_n_last` undoes it."""
    return xp.concatenate([a[..., 2 * hid :], a[..., : 2 * hid]], axis=-1)


def _n_last(xp, a, hid):
    return xp.concatenate([a[..., hid:], a[..., :hid]], axis=-1)


class GRU(Function):
    """Whole-sequence GRU; inputs (x, h0, w_ih, w_hh, b_ih, b_hh), outputs (hs, h_T).

    Feature-major inside, as :class:`LSTM`: every per-step array is (features, N), so each gate block
    is one contiguous (H, N) block. The input side's gates run as (n, r, z) and the hidden side's as
    (r, z, n), so that backward's gate gradients, stacked (n_x, r, z, n_h), hold both sides' gradients
    as contiguous row blocks (rows 0:3H the input side, H:4H the hidden side). The biases ride in the
    GEMMs as a row of ones under ``x_t`` and ``h_t``.
    """

    def forward(self, xp, x, h0, w_ih, w_hh, b_ih, b_hh):
        n, t_steps, inp = x.shape
        hid = h0.shape[1]
        # r and z come out halved (bit for bit), ready for _sigmoid_of_half_; n keeps its scale
        wx = _n_first(xp, xp.concatenate([w_ih, b_ih[None, :]], axis=0), hid)
        wx_t = xp.ascontiguousarray(_halve_columns(xp, wx, 3 * hid, hid).T)  # (3H, I + 1)
        wh = xp.concatenate([w_hh, b_hh[None, :]], axis=0)
        wh_t = xp.ascontiguousarray(_halve_columns(xp, wh, 2 * hid).T)  # (3H, H + 1)
        x1 = xp.empty((t_steps, inp + 1, n), x.dtype)  # [x_t; 1] per step
        x1[:, :inp] = x.transpose(1, 2, 0)
        x1[:, inp] = 1
        acts = xp.matmul(wx_t, x1)  # input side of every step, gates (n, r, z): (T, 3H, N)
        hh = xp.empty_like(acts)  # hidden side per step, gates (r, z, n): its n part is needed by backward
        hs = xp.empty((t_steps + 1, hid + 1, n), x.dtype)  # [h_t; 1] per step
        hs[:, hid] = 1
        hs[0, :hid] = h0.T
        tmp = xp.empty((hid, n), x.dtype)
        for t in range(t_steps):
            a, p = acts[t], hh[t]
            xp.matmul(wh_t, hs[t], out=p)
            rz = a[hid:]
            rz += p[: 2 * hid]
            _sigmoid_of_half_(xp, rz)
            nn, r, z = a[:hid], a[hid : 2 * hid], a[2 * hid :]
            xp.multiply(r, p[2 * hid :], out=tmp)
            nn += tmp
            xp.tanh(nn, out=nn)
            # h' = (1 - z) n + z h = n + z (h - n)
            h_new = hs[t + 1, :hid]
            xp.subtract(hs[t, :hid], nn, out=h_new)
            h_new *= z
            h_new += nn
        self.x1, self.acts, self.hh, self.hs = x1, acts, hh, hs
        # Views, not copies: nothing writes to these buffers after the forward pass.
        return hs[1:, :hid].transpose(2, 0, 1), hs[t_steps, :hid].T

    def backward(self, g_hs, g_h):
        if is_grad_enabled():
            return composite_gradients(_gru_composite, self.inputs, (g_hs, g_h))
        x, h0, w_ih, w_hh = self.inputs[:4]
        xp = x.xp
        n, t_steps, inp = x.shape
        hid = h0.shape[1]
        acts, hh, hs = self.acts, self.hh, self.hs
        dt = x.dtype
        dh = xp.ascontiguousarray(_add_grad(g_h, (n, hid), xp, dt).T)  # (H, N), like the states here
        ghs = None if g_hs is None else g_hs.data
        # pre-activation gradients of every step, gates (n_x, r, z, n_h), laid out (4H, T, N): the
        # weight gradients' GEMMs read them as (4H, T N) matrices without a copy
        d_all = xp.empty((4 * hid, t_steps, n), dt)
        d = xp.empty((4 * hid, n), dt)  # this step's
        tmp = xp.empty((hid, n), dt)
        tmp_2h = xp.empty((2 * hid, n), dt)
        w_hh_d = w_hh.data  # (H, 3H), gates (r, z, n): dh = w_hh @ d_h
        for t in range(t_steps - 1, -1, -1):
            if ghs is not None:
                dh += ghs[:, t].T
            a = acts[t]
            nn, r, z = a[:hid], a[hid : 2 * hid], a[2 * hid :]
            dn = d[:hid]
            # dn (pre-activation) = dh (1 - z) (1 - n^2)
            xp.subtract(1, z, out=tmp)
            xp.multiply(dh, tmp, out=dn)
            xp.multiply(nn, nn, out=tmp)
            xp.subtract(1, tmp, out=tmp)
            dn *= tmp
            xp.multiply(dn, r, out=d[3 * hid :])  # the hidden side's n: r (h @ W_hn + b_hn)
            # dr = dn (h @ W_hn + b_hn) and dz = dh (h - n), then one sigmoid slope for both gates
            xp.multiply(dn, hh[t][2 * hid :], out=d[hid : 2 * hid])
            xp.subtract(hs[t, :hid], nn, out=tmp)
            xp.multiply(dh, tmp, out=d[2 * hid : 3 * hid])
            rz = a[hid:]
            xp.subtract(1, rz, out=tmp_2h)
            tmp_2h *= rz
            d[hid : 3 * hid] *= tmp_2h
            d_all[:, t] = d
            if t or h0.requires_grad:
                dh *= z
                xp.matmul(w_hh_d, d[hid:], out=tmp)
                dh += tmp
        flat = d_all.reshape(4 * hid, t_steps * n)
        want = [v.requires_grad for v in self.inputs]
        grads = [None, xp.ascontiguousarray(dh.T), None, None, None, None]
        if want[0]:
            dx = (_n_first(xp, w_ih.data, hid) @ flat[: 3 * hid]).reshape(inp, t_steps, n)
            grads[0] = xp.ascontiguousarray(dx.transpose(2, 1, 0))
        if want[2] or want[4]:  # [x_t; 1] against the input side: w_ih's and b_ih's gradients
            x1 = self.x1.transpose(1, 0, 2).reshape(inp + 1, t_steps * n)
            both = _n_last(xp, x1 @ flat[: 3 * hid].T, hid)
            grads[2], grads[4] = both[:inp], both[inp]
        if want[3] or want[5]:  # [h_t; 1] against the hidden side: w_hh's and b_hh's gradients
            h1 = hs[:t_steps].transpose(1, 0, 2).reshape(hid + 1, t_steps * n)
            both = h1 @ flat[hid:].T
            grads[3], grads[5] = both[:hid], both[hid]
        return tuple(Tensor(xp.ascontiguousarray(v)) if w else None for v, w in zip(grads, want))

    def release(self):
        super().release()
        self.x1 = self.acts = self.hh = self.hs = None


def gru(x, h0, w_ih, w_hh, b_ih, b_hh):
    """A whole GRU sequence in one fused Function (gate order r, z, n as PyTorch; the reset gate
    multiplies the hidden projection ``h @ W_hn + b_hn``, PyTorch's and ONNX's linear_before_reset=1).

    For each step: ``r = sigmoid(x_t W_ir + b_ir + h W_hr + b_hr)``, ``z = sigmoid(x_t W_iz + b_iz + h W_hz
    + b_hz)``, ``n = tanh(x_t W_in + b_in + r * (h W_hn + b_hn))``, ``h = (1 - z) * n + z * h``.
    (ONNX's GRU orders the gates z, r, h: reorder the blocks when exporting.)

    Parameters
    ----------
    x : Tensor, shape (N, T, I), batch first
    h0 : Tensor, shape (N, H)
    w_ih : Tensor, shape (I, 3H)
    w_hh : Tensor, shape (H, 3H)
    b_ih, b_hh : Tensor, shape (3H,)

    Returns
    -------
    (hs, h_T): hs (N, T, H) every step's hidden state, h_T (N, H).
    """
    x, h0, w_ih, w_hh, b_ih, b_hh = _check("gru", 3, x, h0, w_ih, w_hh, b_ih, b_hh)
    return GRU()(x, h0, w_ih, w_hh, b_ih, b_hh)


def _check(op, k, x, h0, *rest):
    """Shape checks shared by lstm and gru; returns everything as tensors."""
    x = as_tensor(x)
    tensors = [x, as_tensor(h0, like=x)] + [as_tensor(r, like=x) for r in rest]
    if x.ndim != 3:
        raise ShapeError(f"{op}: x must have shape (N, T, I), got {x.shape}")
    n, t_steps, inp = x.shape
    if t_steps < 1:
        raise ShapeError(f"{op}: x of shape {x.shape} has no time steps")
    h = tensors[1]
    if h.ndim != 2 or h.shape[0] != n:
        raise ShapeError(f"{op}: h0 must have shape ({n}, H) for x {x.shape}, got {h.shape}")
    hid = h.shape[1]
    states = tensors[2:3] if op == "lstm" else []
    for s in states:
        if s.shape != (n, hid):
            raise ShapeError(f"{op}: c0 must have shape {(n, hid)}, got {s.shape}")
    params = tensors[3:] if op == "lstm" else tensors[2:]
    names = ["w_ih", "w_hh"] + (["b"] if op == "lstm" else ["b_ih", "b_hh"])
    want = [(inp, k * hid), (hid, k * hid)] + [(k * hid,)] * (len(names) - 2)
    for name, p, shape in zip(names, params, want):
        if p.shape != shape:
            raise ShapeError(
                f"{op}: {name} must have shape {shape} for x {x.shape} and hidden size {hid}, got {p.shape}"
            )
    return tensors
