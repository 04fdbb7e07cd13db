"""Guards and modifiers: the NaN/Inf guard, and value modifiers that clip or scale parameters."""

from __future__ import annotations

import fnmatch

from ..backend import get_array_module
from .base import Hook
from .timestep import TimeStep

__all__ = ["NaNGuard", "ValueModifier", "NonFiniteError"]


class NonFiniteError(FloatingPointError):
    """The loss, a gradient or a parameter stopped being finite."""


class NaNGuard(Hook):
    """Stop training with an error naming the first non-finite tensor when the loss is NaN or infinite.

    Runs on the worker (placement ``"local"``) after the backward pass and before the optimiser step, so
    the parameters are never overwritten with NaN. Checking the loss costs one host sync per check: use
    ``TimeStep(n)`` to check every ``n`` iterations on a GPU.
    """

    priority = 1000
    placement = "local"
    reads = ("loss",)

    def on_attach(self, trainer):
        # On a GPU each check is a device-to-host sync: check every 20 iterations unless told otherwise.
        if self.timestep is self.default_timestep and getattr(trainer.backend, "is_cuda", False):
            self.timestep = TimeStep(20, "iteration")

    def run(self, view):
        import math

        last = view.last
        loss = float(last.loss)
        if math.isfinite(loss):
            return
        xp = get_array_module(last.loss)
        culprit = (
            "the loss, with every gradient and parameter finite (look at the inputs and the loss function)"
        )
        for key, p in view.parameters.items():
            if p.grad is not None and not bool(xp.isfinite(p.grad.data).all()):
                culprit = f"the gradient of {key} (shape {tuple(p.shape)})"
                break
            if not bool(xp.isfinite(p.data).all()):
                culprit = f"parameter {key} (shape {tuple(p.shape)})"
                break
        raise NonFiniteError(
            f"the loss became {loss} at iteration {view.iteration}; first non-finite "
            f"tensor: {culprit}. Try a smaller learning rate or gradient clipping."
        )


class ValueModifier(Hook):
    """Clip or scale parameters after updates (or apply ``function(array)`` in place).

    Parameters
    ----------
    pattern : str
        Parameter identifiers to modify (``"*.weights"``, ``"fc1.*"``).
    clip : (low, high), optional
    scale : float, optional
    function : callable(array) -> None, optional
        Modifies the array in place.
    """

    default_timestep = TimeStep(1, "iteration")

    def __init__(self, pattern: str, clip=None, scale=None, function=None, timestep=None, **kwargs):
        super().__init__(timestep, **kwargs)
        if clip is None and scale is None and function is None:
            raise ValueError("ValueModifier needs one of `clip`, `scale` or `function`")
        self.pattern, self.clip, self.scale, self.function = pattern, clip, scale, function

    def run(self, trainer):
        matched = False
        for key, p in trainer.network.parameters().items():
            if not fnmatch.fnmatchcase(key, self.pattern):
                continue
            matched = True
            xp = get_array_module(p.data)
            if self.clip is not None:
                xp.clip(p.data, self.clip[0], self.clip[1], out=p.data)
            if self.scale is not None:
                p.data *= self.scale
            if self.function is not None:
                self.function(p.data)
        if not matched:
            raise ValueError(
                f"ValueModifier: pattern {self.pattern!r} matches no parameter "
                f"(parameters: {list(trainer.network.parameters())[:8]}...)"
            )
