"""Hand-written numpy training step for ReLU MLPs (W1: classifier, W4: coordinate MLP "paint the cat")."""

from __future__ import annotations

import numpy as np

from .numpy_common import Adam, FlatParams, SGDMomentum, relu_mask_backward, softmax_cross_entropy

__all__ = ["MLPStep"]


class MLPStep:
    """Forward + backward + optimiser update of a dense ReLU network, with buffers allocated once.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths including input and output, e.g. ``(784, 512, 256, 10)``.
    batch : int
    head : {"softmax_ce", "sigmoid_mse"}
        Softmax cross-entropy on the logits (targets: int labels, shape (batch,)), or a sigmoid output
        with mean squared error over all elements (targets: floats, shape (batch, sizes[-1])).
    optimiser : {"momentum", "adam"}
    dtype : numpy dtype
    seed : int
    """

    def __init__(
        self,
        sizes,
        batch: int,
        head: str,
        optimiser: str,
        dtype=np.float32,
        seed: int = 0,
        learning_rate: float | None = None,
    ):
        if head not in ("softmax_ce", "sigmoid_mse"):
            raise ValueError(
                f"Invalid value for `head`. Expected 'softmax_ce' or 'sigmoid_mse'. Received: {head!r}"
            )
        self.sizes, self.batch, self.head = tuple(sizes), batch, head
        n = len(self.sizes) - 1
        shapes = {}
        for i in range(n):
            shapes[f"w{i}"] = (self.sizes[i], self.sizes[i + 1])
            shapes[f"b{i}"] = (self.sizes[i + 1],)
        self.store = FlatParams(shapes, dtype)
        self.store.init_glorot(np.random.default_rng(seed))
        p, g = self.store.params, self.store.grads
        self.w = [p[f"w{i}"] for i in range(n)]
        self.b = [p[f"b{i}"] for i in range(n)]
        self.gw = [g[f"w{i}"] for i in range(n)]
        self.gb = [g[f"b{i}"] for i in range(n)]
        # acts[i] is the output of layer i (post-activation for hidden layers, logits/sigmoid for the last)
        self.acts = [np.empty((batch, s), dtype) for s in self.sizes[1:]]
        self.deltas = [np.empty((batch, s), dtype) for s in self.sizes[1:]]
        # column sums as ones @ x: much faster than x.sum(axis=0) on short rows (PERFORMANCE.md)
        self.ones = np.ones(batch, dtype)
        self.rows = np.arange(batch)
        if optimiser == "momentum":
            self.opt = SGDMomentum(self.store, learning_rate or 0.01, 0.9)
        elif optimiser == "adam":
            self.opt = Adam(self.store, learning_rate or 1e-3)
        else:
            raise ValueError(
                f"Invalid value for `optimiser`. Expected 'momentum' or 'adam'. Received: {optimiser!r}"
            )

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.store.params

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self.store.grads

    def forward_backward(self, x: np.ndarray, y: np.ndarray) -> float:
        """Loss of one batch; gradients land in ``self.grads``."""
        n = len(self.w)
        h = x
        for i in range(n):
            a = self.acts[i]
            np.matmul(h, self.w[i], out=a)
            a += self.b[i]
            if i < n - 1:
                np.maximum(a, 0, out=a)
            h = a
        d = self.deltas[-1]
        if self.head == "softmax_ce":
            loss = softmax_cross_entropy(h, y, self.rows, d)
        else:
            # sigmoid(z) = 0.5 * tanh(z / 2) + 0.5: three cheap in-place ops, no overflow
            h *= 0.5
            np.tanh(h, out=h)
            h *= 0.5
            h += 0.5
            np.subtract(h, y, out=d)
            loss = float(np.vdot(d, d)) / d.size
            # dL/dz = 2 (s - y) / size * s (1 - s)
            d *= 2.0 / d.size
            d *= h
            np.subtract(1.0, h, out=h)
            d *= h
        for i in range(n - 1, -1, -1):
            d = self.deltas[i]
            prev = x if i == 0 else self.acts[i - 1]
            np.matmul(prev.T, d, out=self.gw[i])
            np.matmul(self.ones, d, out=self.gb[i])
            if i > 0:
                dprev = self.deltas[i - 1]
                np.matmul(d, self.w[i].T, out=dprev)
                relu_mask_backward(dprev, prev)
        return loss

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """One training step; returns the loss before the update."""
        loss = self.forward_backward(x, y)
        self.opt.step()
        return loss
