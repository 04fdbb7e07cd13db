"""Hand-written numpy training step for the W2 CNN: two (conv 3x3 pad 1, ReLU, maxpool 2) blocks + dense.

Internally everything is channels-last (NHWC) so im2col is nine strided block copies into a buffer
allocated once and the convolution is one GEMM. Each block writes its pooled output straight into the
interior of the next block's zero-padded input, so there is no padding copy between blocks.
"""

from __future__ import annotations

import numpy as np

from .numpy_common import Adam, FlatParams, softmax_cross_entropy

__all__ = ["CNNStep"]


class _ConvBlock:
    """conv3x3(pad 1) + bias + ReLU + maxpool 2x2 with preallocated buffers (NHWC).

    ``weight`` is the (9*cin + 1, cout) matrix whose last row is the bias (a view of the flat parameter
    buffer, where a layer's bias follows its weights): the im2col buffer carries a column of ones, so
    the GEMM adds the bias and the weight-gradient GEMM yields the bias gradient for free.
    """

    def __init__(self, n, h, w, cin, cout, weight, gweight, dtype, need_dx):
        if h % 2 or w % 2:
            raise ValueError(f"maxpool 2 needs even spatial sizes, got {h}x{w}")
        self.n, self.h, self.w, self.cin, self.cout = n, h, w, cin, cout
        k = 9 * cin
        self.weight, self.gweight = weight, gweight
        self.xp = np.zeros((n, h + 2, w + 2, cin), dtype)  # border stays zero for ever
        s = self.xp.strides
        # every 3x3 window of the padded input as a (n, h, w, 3, 3, cin) view: im2col is one copy
        self.windows = np.lib.stride_tricks.as_strided(
            self.xp, (n, h, w, 3, 3, cin), (s[0], s[1], s[2], s[1], s[2], s[3]), writeable=False
        )
        self.cols2d = np.ones((n * h * w, k + 1), dtype)  # last column stays 1 (the bias input)
        self.cols = self.cols2d[:, :k].reshape(n, h, w, 3, 3, cin)
        self.out = np.empty((n, h, w, cout), dtype)  # pre-activation
        self.out2d = self.out.reshape(n * h * w, cout)
        self.dout = np.empty_like(self.out)
        self.dout2d = self.dout.reshape(n * h * w, cout)
        self.gm = np.empty((n, h // 2, w // 2, cout), dtype)
        self.mask = np.empty((n, h // 2, w // 2, cout), bool)
        # pooling goes rows first: a row pair's max runs over whole contiguous rows (w * cout values),
        # so only the column step works in short cout-long pieces (numpy pays per piece)
        self.rowmax = np.empty((n, h // 2, w, cout), dtype)
        self.rowmask = np.empty((n, h // 2, w, cout), bool)
        self.growmax = np.empty((n, h // 2, w, cout), dtype)
        # the weight gradient as dout^T @ cols (cout x K), transposed after: that GEMM shape is ~20%
        # faster in OpenBLAS than cols^T @ dout (K x cout)
        self.gweight_t = np.empty((cout, 9 * cin + 1), dtype)
        self.need_dx = need_dx
        if need_dx:
            # d(cols) per kernel tap, (9, n*h*w, cin): col2im then adds long contiguous rows
            self.wk = weight[:k].reshape(9, cin, cout).transpose(0, 2, 1)
            self.dtaps = np.empty((9, n * h * w, cin), dtype)
            self.dxp = np.empty_like(self.xp)

    @property
    def input_view(self) -> np.ndarray:
        """Where the block's input must be written (interior of the padded buffer), (n, h, w, cin)."""
        return self.xp[:, 1:-1, 1:-1, :]

    def forward(self, pooled_out: np.ndarray) -> None:
        """Read ``input_view``; write relu(maxpool(conv)) into ``pooled_out`` (n, h/2, w/2, cout)."""
        np.copyto(self.cols, self.windows)
        np.matmul(self.cols2d, self.weight, out=self.out2d)
        # relu(maxpool(a)) == maxpool(relu(a)): pool the pre-activation, apply ReLU on 4x fewer values
        a, r = self.out, self.rowmax
        np.maximum(a[:, 0::2], a[:, 1::2], out=r)
        np.maximum(r[:, :, 0::2], r[:, :, 1::2], out=pooled_out)
        np.maximum(pooled_out, 0, out=pooled_out)
        self.pooled = pooled_out

    def backward(self, dpooled: np.ndarray):
        """Gradients of weight (and bias) from d(pooled); returns d(input) (a view) or None."""
        # ReLU and max-pool backward fused, undoing the two pooling stages: the gradient of a window
        # goes to the first column, then the first row, holding its max, and only when that max is
        # positive (else ReLU cut it). Exactly one input per window gets it, as in PyTorch.
        m, r, gr = self.pooled, self.rowmax, self.growmax
        np.greater(m, 0, out=self.mask)
        np.multiply(dpooled, self.mask, out=self.gm)
        np.equal(r[:, :, 0::2], m, out=self.mask)
        np.multiply(self.gm, self.mask, out=gr[:, :, 0::2])
        np.subtract(self.gm, gr[:, :, 0::2], out=gr[:, :, 1::2])
        np.equal(self.out[:, 0::2], r, out=self.rowmask)
        np.multiply(gr, self.rowmask, out=self.dout[:, 0::2])
        np.subtract(gr, self.dout[:, 0::2], out=self.dout[:, 1::2])
        np.matmul(self.dout2d.T, self.cols2d, out=self.gweight_t)
        self.gweight[...] = self.gweight_t.T
        if not self.need_dx:
            return None
        np.matmul(self.dout2d, self.wk, out=self.dtaps)
        n, h, w, cin = self.n, self.h, self.w, self.cin
        self.dxp[...] = 0
        for k in range(9):
            kh, kw = divmod(k, 3)
            self.dxp[:, kh : kh + h, kw : kw + w, :] += self.dtaps[k].reshape(n, h, w, cin)
        return self.dxp[:, 1:-1, 1:-1, :]


class CNNStep:
    """Forward + backward + Adam of conv-relu-pool, conv-relu-pool, flatten, dense, softmax CE.

    Parameters
    ----------
    batch : int
    in_channels, size : int
        Input images are (batch, in_channels, size, size), NCHW like the other implementations.
    channels : (int, int)
        Output channels of the two convolutions.
    classes : int
    dtype, seed, learning_rate
    """

    def __init__(
        self,
        batch: int = 64,
        in_channels: int = 1,
        size: int = 28,
        channels=(16, 32),
        classes: int = 10,
        dtype=np.float32,
        seed: int = 0,
        learning_rate: float = 1e-3,
    ):
        c1, c2 = channels
        s2, s3 = size // 2, size // 4
        self.store = FlatParams(
            {
                "conv1.w": (3, 3, in_channels, c1),
                "conv1.b": (c1,),
                "conv2.w": (3, 3, c1, c2),
                "conv2.b": (c2,),
                "fc.w": (s3 * s3 * c2, classes),
                "fc.b": (classes,),
            },
            dtype,
        )
        self.store.init_glorot(np.random.default_rng(seed))
        p, g = self.store.params, self.store.grads
        # each conv's weights and bias as one (9 * cin + 1, cout) matrix (see _ConvBlock)
        w1 = self.store.joined("conv1.w", "conv1.b", (9 * in_channels + 1, c1))
        w2 = self.store.joined("conv2.w", "conv2.b", (9 * c1 + 1, c2))
        self.block1 = _ConvBlock(batch, size, size, in_channels, c1, *w1, dtype, need_dx=False)
        self.block2 = _ConvBlock(batch, s2, s2, c1, c2, *w2, dtype, need_dx=True)
        self.pooled2 = np.empty((batch, s3, s3, c2), dtype)
        self.flat = self.pooled2.reshape(batch, -1)
        self.fc_w, self.fc_b, self.fc_gw, self.fc_gb = p["fc.w"], p["fc.b"], g["fc.w"], g["fc.b"]
        self.logits = np.empty((batch, classes), dtype)
        self.dlogits = np.empty_like(self.logits)
        self.dflat = np.empty_like(self.flat)
        self.ones = np.ones(batch, dtype)
        self.rows = np.arange(batch)
        self.opt = Adam(self.store, learning_rate)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.store.params

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self.store.grads

    def forward_backward(self, x: np.ndarray, y: np.ndarray) -> float:
        """Loss of one batch (x: (batch, C, H, W), y: int (batch,)); gradients land in ``self.grads``."""
        self.block1.input_view[...] = x.transpose(0, 2, 3, 1)
        self.block1.forward(self.block2.input_view)
        self.block2.forward(self.pooled2)
        np.matmul(self.flat, self.fc_w, out=self.logits)
        self.logits += self.fc_b
        loss = softmax_cross_entropy(self.logits, y, self.rows, self.dlogits)
        np.matmul(self.flat.T, self.dlogits, out=self.fc_gw)
        np.matmul(self.ones, self.dlogits, out=self.fc_gb)
        np.matmul(self.dlogits, self.fc_w.T, out=self.dflat)
        dpooled1 = self.block2.backward(self.dflat.reshape(self.pooled2.shape))
        self.block1.backward(dpooled1)
        return loss

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """One training step; returns the loss before the update."""
        loss = self.forward_backward(x, y)
        self.opt.step()
        return loss
