"""Guards and modifiers: the NaN/Inf guard, and value modifiers that clip or scale parameters."""

from __future__ import annotations

import fnmatch
import math

import numpy as np

from ..backend import get_array_module
from .base import Hook
from .timestep import TimeStep

__all__ = ["NaNGuard", "ValueModifier", "NonFiniteError", "DivergedError"]


class NonFiniteError(FloatingPointError):
    """The input data, the loss, a gradient or a parameter stopped being finite.

    ``culprit`` says which came first: ``"input"``, ``"parameter"``, ``"gradient"`` or ``"loss"``."""

    def __init__(self, message: str, culprit: str = ""):
        super().__init__(message)
        self.culprit = culprit


class DivergedError(NonFiniteError):
    """The loss grew far beyond the lowest value it had reached (the training diverged)."""


class NaNGuard(Hook):
    """Stop training with an error saying what went non-finite first, or that the loss diverged.

    Runs on the worker (placement ``"local"``) after the backward pass and before the optimiser step, so
    the parameters are never overwritten with NaN. When the loss is not finite it looks, in this order,
    at the batch's input data, the parameters (non-finite ones came from the previous optimiser step),
    the gradients, and otherwise blames the loss computation itself. While the loss is finite it
    tracks the lowest loss seen: a loss ``divergence`` times above it (after ``warmup`` checks) stops
    the run as diverged (Adam at a learning rate of 1e6 ends here, or as a non-finite parameter).
    Checking the loss costs one host sync per check: use ``TimeStep(n)`` to check every ``n``
    iterations on a GPU.

    Parameters
    ----------
    divergence : float or None
        Factor over the lowest loss (plus 1e-3) that counts as divergence; None turns the check off.
    warmup : int
        Checks before divergence is judged (the first losses may be far from the lowest).
    """

    priority = 1000
    placement = "local"
    reads = ("loss",)

    def __init__(
        self, timestep: TimeStep | None = None, divergence: float | None = 1e4, warmup: int = 5, **kwargs
    ):
        super().__init__(timestep, **kwargs)
        self.divergence = None if divergence is None else float(divergence)
        self.warmup = int(warmup)
        self._lowest: tuple[float, int] | None = None  # (loss, iteration)
        self._checks = 0

    def on_attach(self, trainer):
        # On a GPU each check is a device-to-host sync: check every 20 iterations unless told otherwise.
        if self.timestep is self.default_timestep and getattr(trainer.backend, "is_cuda", False):
            self.timestep = TimeStep(20, "iteration")

    def run(self, view):
        loss = float(view.last.loss)
        if math.isfinite(loss):
            self._check_gradients(view, loss)
            self._watch(loss, view)
            return
        xp = get_array_module(view.last.loss)
        where = f"the loss became {loss} at iteration {view.iteration}"
        batch = getattr(view, "batch", None)
        inputs = None if batch is None else np.asarray(batch.get("inputs"))
        if inputs is not None and inputs.dtype.kind == "f" and not np.isfinite(inputs).all():
            sample = int(np.argwhere(~np.isfinite(inputs.reshape(len(inputs), -1)))[0][0])
            raise NonFiniteError(
                f"{where}; first non-finite: the input data (sample {sample} of this batch holds NaN or "
                "infinity). Clean or impute the data (the dataset panel shows the rows).",
                "input",
            )
        for key, p in view.parameters.items():
            if not bool(xp.isfinite(p.data).all()):
                raise NonFiniteError(
                    f"{where}; first non-finite: parameter {key} (shape {tuple(p.shape)}), written after "
                    f"iteration {view.iteration - 1} by the optimiser step (or a hook that changes "
                    f"parameters){self._history()}. If the steps were too large: lower the learning rate "
                    "or clip gradients.",
                    "parameter",
                )
        raise NonFiniteError(
            f"{where}; first non-finite: the loss itself, with every input, parameter and gradient "
            "finite: look at the loss function and the network's outputs (log of 0, overflow).",
            "loss",
        )

    def _check_gradients(self, view, loss: float) -> None:
        # A NaN or infinity anywhere makes a total non-finite; only then the exact per-element test
        # below (a huge finite gradient can overflow a total too).
        grads = [(k, p.grad.data) for k, p in view.parameters.items() if p.grad is not None]
        if not grads:
            return
        xp = np if type(grads[0][1]) is np.ndarray else get_array_module(grads[0][1])
        if xp is np:
            # g . g through BLAS reads each gradient once, at memory speed: 0.028 ms for W1's 2.1 MB
            # against 0.039 for isfinite(g).all() (which writes a mask), 0.046 for min and max and 0.076
            # for float32 sums (numpy's pairwise sum is slower than BLAS's dot). vdot flattens
            # without a ravel() call of ours (the same sdot; one call a gradient less, after the step).
            vdot, total = np.vdot, 0.0
            for _, g in grads:
                total += float(vdot(g, g))
        else:
            total = float(sum(g.sum(dtype=xp.float64) for _, g in grads))  # one host sync for all
        if math.isfinite(total):
            return
        for key, g in grads:
            if not bool(xp.isfinite(g).all()):
                raise NonFiniteError(
                    f"the gradient of {key} (shape {tuple(g.shape)}) became non-finite at iteration "
                    f"{view.iteration} while the loss ({loss:.4g}), the inputs and the parameters were "
                    "finite. Clip gradients, or look at operations with unbounded derivatives (log, "
                    "division, sqrt near 0).",
                    "gradient",
                )

    def _watch(self, loss: float, view) -> None:
        self._checks += 1
        if self._lowest is None or loss < self._lowest[0]:
            self._lowest = (loss, view.iteration)
        if self.divergence is None or self._checks <= self.warmup:
            return
        lowest, at = self._lowest
        if loss > self.divergence * (abs(lowest) + 1e-3):
            raise DivergedError(
                f"the loss diverged: {loss:.4g} at iteration {view.iteration}, more than "
                f"{self.divergence:g} times its lowest value {lowest:.4g} (iteration {at}). The learning "
                "rate is far too large (or the data changed scale): lower it.",
                "loss",
            )

    def _history(self) -> str:
        if self._lowest is None:
            return ""
        return f" (the lowest finite loss was {self._lowest[0]:.4g}, at iteration {self._lowest[1]})"

    def state_dict(self):
        state = super().state_dict()
        state["checks"] = self._checks
        if self._lowest is not None:
            state["lowest"], state["lowest_iteration"] = self._lowest
        return state

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self._checks = int(state.get("checks", 0))
        self._lowest = (float(state["lowest"]), int(state["lowest_iteration"])) if "lowest" in state else None


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
