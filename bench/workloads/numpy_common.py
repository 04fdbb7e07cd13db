"""Building blocks shared by the hand-written numpy reference steps.

The references are the floor our engine is measured against, so they are written for speed: every
parameter and every gradient is a view into ONE flat buffer (the optimiser then runs a handful of
whole-buffer numpy calls per step instead of a handful per parameter), all activations live in
buffers allocated once, and elementwise work uses ``out=``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FlatParams", "SGDMomentum", "Adam", "softmax_cross_entropy", "relu_mask_backward"]


class FlatParams:
    """Named parameters and their gradients as views of two contiguous buffers.

    Parameters
    ----------
    shapes : dict[str, tuple[int, ...]]
        Parameter name -> shape, in a stable order.
    dtype : numpy dtype
        float32 for timing, float64 for gradient checks.

    Attributes
    ----------
    flat, grad_flat : ndarray, shape (total,)
        All parameters / all gradients, back to back.
    params, grads : dict[str, ndarray]
        Views of ``flat`` / ``grad_flat`` with the requested shapes (C-contiguous, usable as ``out=``).
    """

    def __init__(self, shapes: dict[str, tuple[int, ...]], dtype=np.float32):
        sizes = [int(np.prod(s)) for s in shapes.values()]
        total = int(sum(sizes))
        self.dtype = np.dtype(dtype)
        self.flat = np.zeros(total, dtype=self.dtype)
        self.grad_flat = np.zeros(total, dtype=self.dtype)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.offsets: dict[str, tuple[int, int]] = {}
        start = 0
        for (name, shape), size in zip(shapes.items(), sizes):
            self.params[name] = self.flat[start : start + size].reshape(shape)
            self.grads[name] = self.grad_flat[start : start + size].reshape(shape)
            self.offsets[name] = (start, size)
            start += size

    def joined(self, first: str, last: str, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Views of parameters and gradients spanning ``first`` through ``last`` (stored back to back).

        Used to treat a layer's weights and the bias stored right after them as one matrix.
        """
        start = self.offsets[first][0]
        stop = sum(self.offsets[last])
        return (self.flat[start:stop].reshape(shape), self.grad_flat[start:stop].reshape(shape))

    def init_glorot(self, rng: np.random.Generator) -> None:
        """Glorot-uniform weights (fan-in from all but the last axis), zero biases."""
        for _name, p in self.params.items():
            if p.ndim == 1:
                p[...] = 0
            else:
                fan_in, fan_out = int(np.prod(p.shape[:-1])), p.shape[-1]
                limit = np.sqrt(6.0 / (fan_in + fan_out))
                p[...] = rng.uniform(-limit, limit, size=p.shape)


class SGDMomentum:
    """SGD with (PyTorch-style) momentum on a flat buffer: ``v = mu*v + g; p -= lr*v``."""

    def __init__(self, params: FlatParams, learning_rate: float = 0.01, momentum: float = 0.9):
        self.p, self.g = params.flat, params.grad_flat
        self.lr, self.mu = learning_rate, momentum
        self.v = np.zeros_like(self.p)
        self.tmp = np.empty_like(self.p)

    def step(self) -> None:
        self.v *= self.mu
        self.v += self.g
        np.multiply(self.v, self.lr, out=self.tmp)
        self.p -= self.tmp


class Adam:
    """Adam (Kingma & Ba) on a flat buffer, bias-corrected, all in place."""

    def __init__(
        self,
        params: FlatParams,
        learning_rate: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ):
        self.p, self.g = params.flat, params.grad_flat
        self.lr, self.b1, self.b2, self.eps = learning_rate, beta1, beta2, eps
        self.m = np.zeros_like(self.p)
        self.v = np.zeros_like(self.p)
        self.tmp = np.empty_like(self.p)
        self.t = 0

    def step(self) -> None:
        self.t += 1
        b1, b2, tmp = self.b1, self.b2, self.tmp
        self.m *= b1
        np.multiply(self.g, 1.0 - b1, out=tmp)
        self.m += tmp
        self.v *= b2
        np.multiply(self.g, self.g, out=tmp)
        tmp *= 1.0 - b2
        self.v += tmp
        # p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), folded into scalar factors
        bc1, bc2 = 1.0 - b1**self.t, 1.0 - b2**self.t
        np.sqrt(self.v, out=tmp)
        tmp *= 1.0 / np.sqrt(bc2)
        tmp += self.eps
        np.divide(self.m, tmp, out=tmp)
        tmp *= self.lr / bc1
        self.p -= tmp


def softmax_cross_entropy(
    logits: np.ndarray, labels: np.ndarray, rows: np.ndarray, grad_out: np.ndarray
) -> float:
    """Mean softmax cross-entropy and its gradient w.r.t. the logits, fused (no one-hot).

    Parameters
    ----------
    logits : ndarray, shape (batch, classes)
        Overwritten with the softmax probabilities.
    labels : int ndarray, shape (batch,)
    rows : int ndarray, shape (batch,)
        ``arange(batch)``, cached by the caller.
    grad_out : ndarray, shape (batch, classes)
        Receives ``(softmax - onehot) / batch``.

    Returns
    -------
    float : the mean loss.
    """
    batch = logits.shape[0]
    logits -= logits.max(axis=1, keepdims=True)
    # the loss from the shifted logits (log-sum-exp), so a tiny probability cannot make it log(0)
    picked = float(logits[rows, labels].sum())
    np.exp(logits, out=logits)
    total = logits.sum(axis=1, keepdims=True)
    loss = (float(np.log(total).sum()) - picked) / batch
    logits /= total
    np.multiply(logits, 1.0 / batch, out=grad_out)
    grad_out[rows, labels] -= 1.0 / batch
    return loss


def relu_mask_backward(grad: np.ndarray, activation: np.ndarray) -> None:
    """``grad *= (activation > 0)`` in place: multiplying by a boolean is ~10x faster than masking."""
    np.multiply(grad, activation > 0, out=grad)
