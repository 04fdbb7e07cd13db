"""The optimiser base: per-parameter state, weight decay, gradient clipping, freezing, checkpoint state.

Subclasses implement :meth:`Optimiser._update` on raw arrays. Updates are written in place with
``out=`` into per-parameter buffers allocated once, so a training step allocates nothing here.
"""

from __future__ import annotations

import fnmatch
import math

from ..backend import get_array_module, to_host

__all__ = ["Optimiser", "global_norm"]


def global_norm(arrays) -> float:
    """The L2 norm of all ``arrays`` taken together (one host sync)."""
    total = 0.0
    for g in arrays:
        flat = g.reshape(-1)
        total += float(flat @ flat)
    return math.sqrt(total)


class Optimiser:
    """Base of all optimisers.

    Parameters
    ----------
    learning_rate : float
        Step size; a plain attribute that the registry, schedules and the GUI may set between steps.
    weight_decay : float
        L2 penalty added to the gradient (``g + weight_decay * p``). AdamW decouples it instead.
    clip_value : float, optional
        Clip every gradient element to ``[-clip_value, clip_value]``.
    clip_norm : float, optional
        Rescale all gradients together so that their global L2 norm is at most ``clip_norm``.
    frozen : sequence of str
        Patterns (``fnmatch`` style) of parameters never updated: ``"conv1.*"`` or the registry form
        ``"network.layers.conv1.*"``.

    Notes
    -----
    State lives in ``self.state[identifier][name]`` (arrays on the parameters' device) and the step
    counter in ``self.iterations``; :meth:`state_dict` returns arrays and numbers only.
    """

    #: Names of per-parameter state buffers (zeros like the parameter), in order.
    slots: tuple[str, ...] = ()
    #: Hyperparameters saved in state_dict and settable from the registry.
    hyperparameters: tuple[str, ...] = ("learning_rate", "weight_decay")

    def __init__(
        self,
        learning_rate: float = 0.01,
        weight_decay: float = 0.0,
        clip_value=None,
        clip_norm=None,
        frozen=(),
    ):
        _check_positive("learning_rate", learning_rate, allow_zero=True)
        _check_positive("weight_decay", weight_decay, allow_zero=True)
        if clip_value is not None:
            _check_positive("clip_value", clip_value)
        if clip_norm is not None:
            _check_positive("clip_norm", clip_norm)
        self.learning_rate = float(learning_rate)
        self.weight_decay = float(weight_decay)
        self.clip_value = None if clip_value is None else float(clip_value)
        self.clip_norm = None if clip_norm is None else float(clip_norm)
        self.frozen = tuple(frozen)
        self.iterations = 0
        self.state: dict[str, dict] = {}
        self._scratch: dict[str, object] = {}  # working buffers, not state

    # ------------------------------------------------------------------ public
    def is_frozen(self, identifier: str) -> bool:
        """Whether the parameter ``identifier`` (``"fc1.weights"``) matches one of the ``frozen`` patterns,
        written either like it or as a registry identifier (``"network.layers.fc1.*"``)."""
        if not self.frozen:
            return False
        full = "network.layers." + identifier
        return any(fnmatch.fnmatchcase(identifier, p) or fnmatch.fnmatchcase(full, p) for p in self.frozen)

    def step(self, params: dict) -> None:
        """Update every parameter in place from its ``.grad``.

        Parameters
        ----------
        params : dict of str -> Tensor
            Parameters keyed by identifier (``"fc1.weights"``); ones without a gradient or frozen are
            skipped. Gradients are read, never modified.
        """
        if self.frozen:
            items = [(k, p) for k, p in params.items() if p.grad is not None and not self.is_frozen(k)]
        else:
            items = [(k, p) for k, p in params.items() if p.grad is not None]
        if not items:
            return
        scale = 1.0
        if self.clip_norm is not None:
            norm = global_norm([p.grad.data for _, p in items])
            if norm > self.clip_norm:
                scale = self.clip_norm / (norm + 1e-12)
        self.iterations += 1
        # Without clipping or coupled decay the gradient is used as it is (_effective_gradient's own
        # shortcut, decided once per step rather than per parameter).
        plain = scale == 1.0 and self.clip_value is None and not (self._coupled_decay and self.weight_decay)
        states, update = self.state, self._update
        for key, p in items:
            data = p.data
            g = p.grad.data if plain else self._effective_gradient(key, data, p.grad.data, scale)
            state = states.get(key)
            if state is None:
                xp = get_array_module(data)
                state = states[key] = {name: xp.zeros_like(data) for name in self.slots}
            update(key, data, g, state)

    def state_dict(self) -> dict:
        """Arrays and numbers only: ``{"iterations", hyperparameters..., "state": {id: {slot: array}}}``."""
        out = {"type": type(self).__name__, "iterations": int(self.iterations)}
        for name in self.hyperparameters:
            out[name] = float(getattr(self, name))
        out["state"] = {
            key: {name: _host(a) for name, a in slots.items()} for key, slots in self.state.items()
        }
        return out

    def load_state_dict(self, state: dict, like: dict | None = None) -> None:
        """Restore from :meth:`state_dict`. ``like`` (identifier -> Tensor) puts buffers on the
        parameters' device and checks shapes."""
        if state.get("type", type(self).__name__) != type(self).__name__:
            raise ValueError(f"optimiser state is for {state.get('type')}, not {type(self).__name__}")
        new_state = {}
        for key, slots in state.get("state", {}).items():
            new_state[key] = {}
            for name, array in slots.items():
                if like is not None and key in like:
                    ref = like[key].data
                    if tuple(array.shape) != tuple(ref.shape):
                        raise ValueError(
                            f"optimiser state {key}.{name} has shape {tuple(array.shape)}, "
                            f"parameter has {tuple(ref.shape)}"
                        )
                    xp = get_array_module(ref)
                    array = xp.asarray(array, dtype=ref.dtype).copy()
                new_state[key][name] = array
        self.iterations = int(state.get("iterations", 0))
        for name in self.hyperparameters:
            if name in state:
                setattr(self, name, float(state[name]))
        self.state = new_state

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.hyperparameters)
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ helpers for subclasses
    def _buffer(self, key: str, like, index: int = 0):
        """A scratch array shaped like ``like``, allocated once per parameter and index."""
        slot = (key, index)
        buf = self._scratch.get(slot)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self._scratch[slot] = get_array_module(like).empty_like(like)
        return buf

    def _effective_gradient(self, key, p, g, scale):
        """The gradient after clipping and coupled weight decay; ``g`` itself when none apply."""
        decay = self.weight_decay if self._coupled_decay else 0.0
        if scale == 1.0 and self.clip_value is None and decay == 0.0:
            return g
        xp = get_array_module(g)
        out = self._buffer(key, g, 9)
        if scale != 1.0:
            xp.multiply(g, scale, out=out)
        else:
            out[...] = g
        if self.clip_value is not None:
            xp.clip(out, -self.clip_value, self.clip_value, out=out)
        if decay:
            tmp = self._buffer(key, g, 8)
            xp.multiply(p, decay, out=tmp)
            out += tmp
        return out

    _coupled_decay = True

    def _update(self, key, p, g, state):  # pragma: no cover - abstract
        raise NotImplementedError


def descend(p, update, scale) -> None:
    """The tail every update ends with: ``p -= scale * update`` in place (``update``, a scratch buffer,
    is overwritten)."""
    update *= scale
    p -= update


def adaptive_descend(xp, p, numerator, second_moment, epsilon, scale, tmp) -> None:
    """The tail of the adaptive methods (AdaGrad, RMSProp, Adam):
    ``p -= scale * numerator / (sqrt(second_moment) + epsilon)``, through the scratch buffer ``tmp``."""
    xp.sqrt(second_moment, out=tmp)
    tmp += epsilon
    xp.divide(numerator, tmp, out=tmp)
    descend(p, tmp, scale)


def _host(array):
    return to_host(array, copy=True)


def _check_positive(name, value, allow_zero=False):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid value for `{name}`. Expected a number. Received: {value!r}") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        expected = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ValueError(f"Invalid value for `{name}`. Expected {expected}. Received: {value!r}")
    return number
