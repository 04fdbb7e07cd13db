"""The layer contract: lazy parameters, shape inference, specs and the registry of layer types.

A layer works on batches but reasons about per-sample shapes (no batch axis). Parameters are created
lazily by :meth:`Layer.build` from the input shape: a layer declares their shapes in
:meth:`Layer.param_shapes` and their default initialisers in :meth:`Layer.default_initialisers`, so
parameter counts and FLOPs are known from shapes alone (the GUI's cheap validation uses that).

Layers taking several inputs (merges, recurrent layers with an initial state) set ``max_inputs > 1`` and
always receive a list of shapes and a list of tensors, even when given one.

Every layer type registers under its ``type_name``; ``Layer.from_spec({"type": "dense", ...})`` builds
any of them. A spec holds ``type``, ``name`` and every constructor argument, plus ``init`` (per-parameter
initialiser specs) and ``trainable`` when they differ from their defaults.
"""

from __future__ import annotations

import inspect
import math
import re

import numpy as np

from ..autodiff.tensor import Tensor
from ..init import Initialiser, as_initialiser
from .arguments import (  # re-exported: layer modules import them from here
    LayerError,
    LayerShapeError,
    _label,
    check_choice,
    check_int,
    check_rate,
    check_shape,
)

__all__ = [
    "Layer",
    "LayerError",
    "LayerShapeError",
    "layer_types",
    "layer_class",
    "check_int",
    "check_rate",
    "check_choice",
    "check_shape",
]

_TYPES: dict[str, type[Layer]] = {}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def layer_types() -> list[str]:
    """The registered layer type names, sorted."""
    return sorted(_TYPES)


def layer_class(type_name: str, node: str | None = None) -> type[Layer]:
    """The layer class registered as ``type_name``."""
    cls = _TYPES.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        where = f" for node '{node}'" if node else ""
        raise LayerError(
            f"Unknown layer type {type_name!r}{where}. Expected one of: {', '.join(layer_types())}", node
        )
    return cls


class Layer:
    """Base class of every layer.

    Parameters
    ----------
    name : str, optional
        Unique within a network; given automatically (``dense1``, ``dense2``, ...) when left out.
    init : dict[str, Initialiser-like], optional
        Initialisers for this layer's parameters by short name (``{"weights": HeNormal()}``).
    trainable : bool
        Whether the parameters take gradients and are published with the ``trainable`` tag.

    Attributes
    ----------
    parameters : dict[str, Tensor]
        Trainable arrays by short name (``weights``, ``bias``, ``gamma``, ...), empty until built.
    buffers : dict[str, array]
        Non-trainable state (BatchNorm running statistics).
    input_shape : tuple or list of tuples or None
        The per-sample input shape the layer was built for.
    rng : numpy.random.Generator or None
        Randomness for layers that draw at run time (dropout); a network shares its own.
    """

    type_name = ""
    min_inputs = 1
    max_inputs = 1
    is_loss = False
    #: What the layer reads: "float" values, "int" indices (Embedding), or "any" (layers that only move data).
    input_kind = "float"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("type_name"):
            _TYPES[cls.type_name] = cls

    def __init__(self, name: str | None = None, init: dict | None = None, trainable: bool = True):
        if name is not None and (not isinstance(name, str) or not _NAME.match(name)):
            raise LayerError(
                f"Invalid value for `name` in layer {type(self).__name__}. Expected letters, digits, "
                f"'_' or '-', starting with a letter or '_'. Received: {name!r}",
                None,
            )
        self.name = name
        self.init: dict[str, Initialiser] = {}
        for key, value in (init or {}).items():
            try:
                self.init[key] = as_initialiser(value)
            except ValueError as exc:
                raise LayerError(
                    f"Invalid initialiser for `{key}` in {_label(name, type(self).__name__)}: {exc}", name
                ) from None
        if not isinstance(trainable, bool):
            raise LayerError(
                f"Invalid value for `trainable` in {_label(name, type(self).__name__)}. Expected a "
                f"bool. Received: {trainable!r}",
                name,
            )
        self.trainable = trainable
        self.parameters: dict[str, Tensor] = {}
        self.buffers: dict = {}
        self.input_shape = None
        self.built = False
        self.rng: np.random.Generator | None = None

    @property
    def multi_input(self) -> bool:
        return self.max_inputs > 1

    # ------------------------------------------------------------------ what subclasses describe
    def config(self) -> dict:
        """Constructor arguments other than name, init and trainable, as JSON-able values."""
        return {}

    def param_shapes(self, input_shape) -> dict[str, tuple[int, ...]]:
        """Shapes of the parameters this layer creates for ``input_shape`` (checked beforehand)."""
        return {}

    def buffer_init(self, input_shape) -> dict[str, tuple[tuple[int, ...], float]]:
        """``{name: (shape, fill value)}`` of the buffers this layer keeps."""
        return {}

    def default_initialisers(self) -> dict[str, Initialiser]:
        """The initialiser of each parameter when neither ``init`` nor a network rule says otherwise."""
        return {}

    def fans(self, input_shape) -> dict[str, tuple[int, int]]:
        """(fan_in, fan_out) per parameter, for variance-scaling initialisers."""
        return {}

    def compute_output_shape(self, input_shape):
        """The per-sample output shape for ``input_shape``; raises :class:`LayerShapeError` when it cannot."""
        return tuple(input_shape)

    def flops(self, input_shape) -> int:
        """Floating-point operations of one sample's forward pass (a multiply-add counts as 2)."""
        return 0

    def forward(self, x, training: bool = False):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    # ------------------------------------------------------------------ shapes
    def _shape_error(self, expected, received, index=0, hint=""):
        return LayerShapeError(self.name or type(self).__name__, expected, received, index, None, hint)

    def _normalise_shape(self, input_shape):
        """A tuple for single-input layers, a list of tuples for multi-input ones (count checked)."""
        if self.multi_input:
            shapes = input_shape if isinstance(input_shape, list) else [input_shape]
            shapes = [tuple(int(d) for d in s) for s in shapes]
            label = _label(self.name, type(self).__name__)
            if len(shapes) < self.min_inputs:
                raise LayerError(
                    f"{label} takes at least {self.min_inputs} inputs, got {len(shapes)}", self.name
                )
            if len(shapes) > self.max_inputs:
                raise LayerError(
                    f"{label} takes at most {self.max_inputs} inputs, got {len(shapes)}", self.name
                )
            return shapes
        if isinstance(input_shape, list):
            if len(input_shape) != 1:
                raise LayerError(
                    f"{_label(self.name, type(self).__name__)} takes 1 input, got {len(input_shape)}",
                    self.name,
                )
            input_shape = input_shape[0]
        return tuple(int(d) for d in input_shape)

    def output_shape_for(self, input_shape):
        """Check ``input_shape`` against what the layer was built for, then :meth:`compute_output_shape`."""
        input_shape = self._normalise_shape(input_shape)
        if self.built and input_shape != self.input_shape:
            raise self._mismatch(input_shape)
        return self.compute_output_shape(input_shape)

    def _mismatch(self, input_shape):
        """The error for an input that differs from the built one ("expects 256 inputs, got 784")."""
        built = self.input_shape
        if not self.multi_input and len(built) == 1 and len(input_shape) == 1:
            return self._shape_error(f"{built[0]} inputs", f"{input_shape[0]}")
        return self._shape_error(f"input shape {built}", f"{input_shape}")

    def param_count(self, input_shape=None) -> int:
        """Number of parameter elements (of the built layer, or for ``input_shape``)."""
        if input_shape is None:
            return int(sum(p.size for p in self.parameters.values()))
        shapes = self.param_shapes(self._normalise_shape(input_shape))
        return int(sum(math.prod(s) for s in shapes.values()))

    # ------------------------------------------------------------------ building
    def build(
        self, input_shape, rng: np.random.Generator | None = None, dtype=np.float32, backend=None
    ) -> None:
        """Create parameters and buffers for ``input_shape`` (per sample) from their initialisers.

        A built layer only checks that ``input_shape`` is the one it was built for.
        """
        shape = self._normalise_shape(input_shape)
        if self.built:
            if shape != self.input_shape:
                raise self._mismatch(shape)
            return
        self.compute_output_shape(shape)  # validates the shape before anything is allocated
        rng = rng if rng is not None else np.random.default_rng(0)
        from ..backend import get_backend

        be = get_backend(backend or "cpu")
        defaults = self.default_initialisers()
        fans = self.fans(shape)
        params = {}
        for pname, pshape in self.param_shapes(shape).items():
            init = self.init.get(pname) or defaults[pname]
            fi, fo = fans.get(pname, (None, None))
            values = init(pshape, rng, fi, fo).astype(dtype)
            params[pname] = Tensor(
                be.from_host(values),
                requires_grad=self.trainable,
                name=f"{self.name}.{pname}" if self.name else pname,
            )
        self.parameters = params
        self.buffers = {
            b: be.from_host(np.full(s, fill, dtype=dtype)) for b, (s, fill) in self.buffer_init(shape).items()
        }
        self.input_shape = shape
        self.built = True

    def __call__(self, x, training: bool = False):
        """Apply the layer to a batch (building it from the batch's shape first), or connect it to nodes.

        With :class:`~engine.network.Node` arguments (or ``Input`` layers) it returns a new node for the
        functional graph API instead of computing anything.
        """
        if self._is_symbolic(x):  # attached by engine.layers.composition, as are + and *
            return self._connect(x)
        xs = list(x) if isinstance(x, list | tuple) else [x]
        xs = [t if isinstance(t, Tensor) else Tensor(np.asarray(t)) for t in xs]
        shapes = [t.shape[1:] for t in xs]
        if not self.built:
            self.build(
                shapes if self.multi_input else shapes[0],
                self.rng,
                xs[0].dtype if xs[0].dtype.kind == "f" else np.float32,
            )
        return self.forward(xs if self.multi_input else xs[0], training)

    # ------------------------------------------------------------------ specs
    def spec(self) -> dict:
        """JSON-able description: ``{"type", "name", **config}`` plus ``init``/``trainable`` when set."""
        out = {"type": self.type_name, "name": self.name, **self.config()}
        if self.init:
            out["init"] = {k: v.spec() for k, v in self.init.items()}
        if not self.trainable:
            out["trainable"] = False
        return out

    @classmethod
    def from_spec(cls, spec: dict) -> Layer:
        """The layer described by ``spec``; on ``Layer`` itself, dispatches on ``spec["type"]``."""
        if not isinstance(spec, dict):
            raise LayerError(f"Invalid layer spec: expected a dict. Received: {spec!r}")
        node = spec.get("name") if isinstance(spec.get("name"), str) else None
        target = cls if cls.type_name else layer_class(spec.get("type"), node)
        if cls.type_name and spec.get("type", cls.type_name) != cls.type_name:
            raise LayerError(f"Spec of type {spec.get('type')!r} given to {cls.__name__}.from_spec", node)
        args = {k: v for k, v in spec.items() if k != "type"}
        allowed = target.argument_names()
        unknown = [k for k in args if k not in allowed]
        if unknown:
            raise LayerError(
                f"Unknown argument `{unknown[0]}` for layer '{node}' of type '{target.type_name}'. "
                f"Expected: {', '.join(sorted(allowed))}",
                node,
            )
        return target(**args)

    @classmethod
    def argument_names(cls) -> set[str]:
        """Names the constructor accepts (the keys a spec may hold besides ``type``)."""
        names = set()
        for klass in cls.__mro__:
            if "__init__" in klass.__dict__:
                params = inspect.signature(klass.__init__).parameters.values()
                names |= {
                    p.name
                    for p in params
                    if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
                }
                if not any(p.kind == p.VAR_KEYWORD for p in params):
                    break
        return names | {"name", "init", "trainable"}

    def copy(self, name: str | None = None) -> Layer:
        """An unbuilt layer with the same spec (and ``name``)."""
        spec = self.spec()
        spec["name"] = name
        return Layer.from_spec(spec)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args}{', ' if args else ''}name={self.name!r})"
