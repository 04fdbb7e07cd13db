"""Hand-written numpy training steps for W3: LSTM / GRU over a sequence, dense on the last state, Adam.

Layout is time-major inside. The input projection of all time steps is ONE GEMM before the loop; each
step then does ONE GEMM for all gates (``h @ W_h``) and in-place elementwise work on buffers allocated
once. Backward accumulates pre-activation gradients of all steps and computes the weight gradients with
one GEMM each after the loop. Equations follow PyTorch (gate order LSTM i, f, o, g here; GRU r, z, n with
the reset gate applied after the hidden projection).
"""

from __future__ import annotations

import numpy as np

from .numpy_common import Adam, FlatParams, softmax_cross_entropy

__all__ = ["RNNStep"]


def _sigmoid_(a: np.ndarray) -> None:
    """In-place sigmoid as 0.5 * tanh(a / 2) + 0.5 (no overflow, one transcendental)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5


class RNNStep:
    """Forward + backward + Adam of an LSTM or GRU classifier on the last time step.

    Parameters
    ----------
    cell : {"lstm", "gru"}
    batch, steps, inputs, hidden, classes : int
        Inputs are (batch, steps, inputs) batch-first; targets are int labels (batch,).
    dtype, seed, learning_rate
    """

    def __init__(
        self,
        cell: str = "lstm",
        batch: int = 64,
        steps: int = 50,
        inputs: int = 32,
        hidden: int = 128,
        classes: int = 10,
        dtype=np.float32,
        seed: int = 0,
        learning_rate: float = 1e-3,
    ):
        if cell not in ("lstm", "gru"):
            raise ValueError(f"Invalid value for `cell`. Expected 'lstm' or 'gru'. Received: {cell!r}")
        self.cell = cell
        G = (4 if cell == "lstm" else 3) * hidden
        B, T, H = batch, steps, hidden
        shapes = {"wx": (inputs, G), "wh": (H, G), "bx": (G,)}
        if cell == "gru":
            shapes["bh"] = (G,)  # the GRU's hidden bias sits inside r * (W_hn h + b_hn): not foldable
        shapes.update({"fc.w": (H, classes), "fc.b": (classes,)})
        self.store = FlatParams(shapes, dtype)
        self.store.init_glorot(np.random.default_rng(seed))
        self.p, self.g = self.store.params, self.store.grads
        self.B, self.T, self.H, self.G = B, T, H, G
        self.x = np.empty((T, B, inputs), dtype)
        self.x2d = self.x.reshape(T * B, inputs)
        self.acts = np.empty((T, B, G), dtype)  # x-projection, then activated gates, per step
        self.dpre = np.empty((T, B, G), dtype)  # pre-activation gradients of the x side
        self.h = np.zeros((T + 1, B, H), dtype)  # h[0] is the zero initial state
        self.tmp_g = np.empty((B, G), dtype)
        self.tmp_h = np.empty((B, H), dtype)
        self.tmp_h2 = np.empty((B, H), dtype)
        self.dh = np.empty((B, H), dtype)
        if cell == "lstm":
            self.c = np.zeros((T + 1, B, H), dtype)
            self.tc = np.empty((T, B, H), dtype)
            self.dc = np.empty((B, H), dtype)
            self.tmp_3h = np.empty((B, 3 * H), dtype)
        else:
            self.hh = np.empty((T, B, G), dtype)  # h @ W_h + b_h per step (its n part is needed backward)
            self.dhh = np.empty((T, B, G), dtype)
        self.logits = np.empty((B, classes), dtype)
        self.dlogits = np.empty_like(self.logits)
        self.ones = np.ones(T * B, dtype)
        self.rows = np.arange(B)
        self.opt = Adam(self.store, learning_rate)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.store.params

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self.store.grads

    # ------------------------------------------------------------------ LSTM
    def _lstm_forward(self) -> None:
        H, wh = self.H, self.p["wh"]
        for t in range(self.T):
            a = self.acts[t]
            np.matmul(self.h[t], wh, out=self.tmp_g)
            a += self.tmp_g
            _sigmoid_(a[:, : 3 * H])
            gg = a[:, 3 * H :]
            np.tanh(gg, out=gg)
            i, f, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H]
            c = self.c[t + 1]
            np.multiply(f, self.c[t], out=c)
            np.multiply(i, gg, out=self.tmp_h)
            c += self.tmp_h
            np.tanh(c, out=self.tc[t])
            np.multiply(o, self.tc[t], out=self.h[t + 1])

    def _lstm_backward(self) -> None:
        H, wh_t = self.H, self.p["wh"].T
        dh, dc, tmp = self.dh, self.dc, self.tmp_h
        dc[...] = 0
        for t in range(self.T - 1, -1, -1):
            a, d, tc = self.acts[t], self.dpre[t], self.tc[t]
            i, f, o, gg = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            np.multiply(dh, tc, out=d[:, 2 * H : 3 * H])  # d o
            np.multiply(tc, tc, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            tmp *= o
            tmp *= dh
            dc += tmp  # dc += dh * o * (1 - tanh(c)^2)
            np.multiply(dc, gg, out=d[:, :H])  # d i
            np.multiply(dc, self.c[t], out=d[:, H : 2 * H])  # d f
            np.multiply(dc, i, out=d[:, 3 * H :])  # d g
            dc *= f
            s = a[:, : 3 * H]  # sigmoid' = s (1 - s)
            np.subtract(1.0, s, out=self.tmp_3h)
            self.tmp_3h *= s
            d[:, : 3 * H] *= self.tmp_3h
            np.multiply(gg, gg, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            d[:, 3 * H :] *= tmp
            if t:
                np.matmul(d, wh_t, out=dh)

    # ------------------------------------------------------------------ GRU
    def _gru_forward(self) -> None:
        H, wh, bh = self.H, self.p["wh"], self.p["bh"]
        for t in range(self.T):
            a, hh = self.acts[t], self.hh[t]
            np.matmul(self.h[t], wh, out=hh)
            hh += bh
            rz = a[:, : 2 * H]
            rz += hh[:, : 2 * H]
            _sigmoid_(rz)
            r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
            np.multiply(r, hh[:, 2 * H :], out=self.tmp_h)
            n += self.tmp_h
            np.tanh(n, out=n)
            h = self.h[t + 1]
            np.subtract(self.h[t], n, out=h)  # h' = n + z (h - n)
            h *= z
            h += n

    def _gru_backward(self) -> None:
        H, wh_t = self.H, self.p["wh"].T
        dh, tmp, tmp2 = self.dh, self.tmp_h, self.tmp_h2
        for t in range(self.T - 1, -1, -1):
            a, d, dhh = self.acts[t], self.dpre[t], self.dhh[t]
            r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
            dn = d[:, 2 * H :]
            np.subtract(1.0, z, out=tmp)
            np.multiply(dh, tmp, out=dn)  # dn = dh (1 - z)
            np.multiply(n, n, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            dn *= tmp  # through tanh
            np.multiply(dn, r, out=dhh[:, 2 * H :])
            np.subtract(self.h[t], n, out=tmp)
            np.multiply(dh, tmp, out=d[:, H : 2 * H])  # dz = dh (h_prev - n)
            np.multiply(dn, self.hh[t, :, 2 * H :], out=d[:, :H])  # dr = dn * hh_n
            rz = a[:, : 2 * H]
            drz = d[:, : 2 * H]
            np.subtract(1.0, rz, out=self.tmp_g[:, : 2 * H])
            self.tmp_g[:, : 2 * H] *= rz
            drz *= self.tmp_g[:, : 2 * H]
            dhh[:, : 2 * H] = drz
            if t:
                np.multiply(dh, z, out=tmp2)
                np.matmul(dhh, wh_t, out=dh)
                dh += tmp2

    # ------------------------------------------------------------------ step
    def forward_backward(self, x: np.ndarray, y: np.ndarray) -> float:
        """Loss of one batch (x: (batch, steps, inputs), y: int (batch,)); gradients in ``self.grads``."""
        p, g, T, B = self.p, self.g, self.T, self.B
        self.x[...] = x.transpose(1, 0, 2)
        acts2d = self.acts.reshape(T * B, self.G)
        np.matmul(self.x2d, p["wx"], out=acts2d)
        acts2d += p["bx"]
        (self._lstm_forward if self.cell == "lstm" else self._gru_forward)()
        last = self.h[T]
        np.matmul(last, p["fc.w"], out=self.logits)
        self.logits += p["fc.b"]
        loss = softmax_cross_entropy(self.logits, y, self.rows, self.dlogits)
        np.matmul(last.T, self.dlogits, out=g["fc.w"])
        np.matmul(self.ones[:B], self.dlogits, out=g["fc.b"])
        np.matmul(self.dlogits, p["fc.w"].T, out=self.dh)
        (self._lstm_backward if self.cell == "lstm" else self._gru_backward)()
        dpre2d = self.dpre.reshape(T * B, self.G)
        hprev2d = self.h[:T].reshape(T * B, self.H)
        np.matmul(self.x2d.T, dpre2d, out=g["wx"])
        np.matmul(self.ones, dpre2d, out=g["bx"])
        if self.cell == "lstm":
            np.matmul(hprev2d.T, dpre2d, out=g["wh"])
        else:
            dhh2d = self.dhh.reshape(T * B, self.G)
            np.matmul(hprev2d.T, dhh2d, out=g["wh"])
            np.matmul(self.ones, dhh2d, out=g["bh"])
        return loss

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """One training step; returns the loss before the update."""
        loss = self.forward_backward(x, y)
        self.opt.step()
        return loss
