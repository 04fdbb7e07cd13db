"""Convolution layers, channels first: Conv1D on (C, L) samples, Conv2D on (C, H, W) samples.

Kernels are stored as ``weights`` of shape (filters, C // groups, *kernel_size) (the layout of
``engine.ops.conv2d`` and of ONNX), biases as ``bias`` of shape (filters,).
"""

from __future__ import annotations

import math

from ..init import Constant
from ..ops.conv import conv1d, conv2d, make_geometry
from .base import Layer, check_choice, check_int, check_shape
from .core import activation_flops, apply_activation, check_activation, weights_default

__all__ = ["Conv1D", "Conv2D"]


class _Conv(Layer):
    rank = 2
    name_prefix = "conv"

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        dilation=1,
        groups=1,
        activation=None,
        use_bias=True,
        name=None,
        init=None,
        trainable=True,
    ):
        super().__init__(name, init, trainable)
        n = self.rank
        self.filters = check_int(self, "filters", filters)
        self.kernel_size = check_shape(self, "kernel_size", kernel_size, length=n)
        self.strides = check_shape(self, "strides", strides, length=n)
        self.dilation = check_shape(self, "dilation", dilation, length=n)
        self.groups = check_int(self, "groups", groups)
        self.padding = self._check_padding(padding)
        self.activation = check_activation(self, activation)
        self.use_bias = check_choice(self, "use_bias", use_bias, [True, False])
        if self.filters % self.groups:
            raise self._arg_error("filters", f"a multiple of groups={self.groups}", filters)

    def _check_padding(self, padding):
        if isinstance(padding, str):
            return check_choice(self, "padding", padding, ["valid", "same"])
        items = [padding] * self.rank if isinstance(padding, int) else padding
        try:
            items = [
                int(p) if isinstance(p, int) and not isinstance(p, bool) and p >= 0 else None for p in items
            ]
        except TypeError:
            items = [None]
        if len(items) == 1:
            items = items * self.rank
        if None in items or len(items) != self.rank:
            raise self._arg_error(
                "padding", f"'valid', 'same' or {self.rank} non-negative integer(s)", padding
            )
        return tuple(items)

    def _arg_error(self, arg, expected, received):
        from .base import LayerError, _label

        return LayerError(
            f"Invalid value for `{arg}` in {_label(self.name, type(self).__name__)}. "
            f"Expected {expected}. Received: {received!r}",
            self.name,
        )

    def config(self):
        one = self.rank == 1
        pad = (
            self.padding
            if isinstance(self.padding, str)
            else (self.padding[0] if one else list(self.padding))
        )
        return {
            "filters": self.filters,
            "kernel_size": self.kernel_size[0] if one else list(self.kernel_size),
            "strides": self.strides[0] if one else list(self.strides),
            "padding": pad,
            "dilation": self.dilation[0] if one else list(self.dilation),
            "groups": self.groups,
            "activation": self.activation,
            "use_bias": self.use_bias,
        }

    # The ops work in 2-d; a 1-d sample (C, L) is a 2-d one of height 1.
    def _geometry(self, input_shape):
        if len(input_shape) != self.rank + 1:
            axes = "(channels, length)" if self.rank == 1 else "(channels, height, width)"
            raise self._shape_error(
                f"samples of shape {axes}",
                f"shape {tuple(input_shape)}",
                hint="add a Reshape layer" if len(input_shape) == self.rank else "",
            )
        channels = input_shape[0]
        if channels % self.groups:
            raise self._shape_error(
                f"a channel count divisible by groups={self.groups}", f"{channels} channels"
            )
        spatial = input_shape[1:] if self.rank == 2 else (1, input_shape[1])
        kernel = self.kernel_size if self.rank == 2 else (1, self.kernel_size[0])
        stride = self.strides if self.rank == 2 else (1, self.strides[0])
        dilation = self.dilation if self.rank == 2 else (1, self.dilation[0])
        padding = self.padding if isinstance(self.padding, str) or self.rank == 2 else (0, self.padding[0])
        try:
            geom = make_geometry(type(self).__name__, spatial, kernel, stride, padding, dilation, self.groups)
        except ValueError as exc:
            raise self._shape_error(
                f"an input large enough for kernel {self.kernel_size}",
                f"spatial size {tuple(input_shape[1:])}",
                hint=str(exc),
            ) from None
        out = geom.output_hw(*spatial)
        return out if self.rank == 2 else out[1:]

    def compute_output_shape(self, input_shape):
        return (self.filters, *self._geometry(input_shape))

    def param_shapes(self, input_shape):
        shapes = {"weights": (self.filters, input_shape[0] // self.groups, *self.kernel_size)}
        if self.use_bias:
            shapes["bias"] = (self.filters,)
        return shapes

    def default_initialisers(self):
        return {"weights": weights_default(self.activation), "bias": Constant(0.0)}

    def fans(self, input_shape):
        k = math.prod(self.kernel_size)
        return {"weights": (input_shape[0] // self.groups * k, self.filters // self.groups * k)}

    def flops(self, input_shape):
        out = self.compute_output_shape(input_shape)
        positions = math.prod(out[1:])
        per = 2 * (input_shape[0] // self.groups) * math.prod(self.kernel_size) + self.use_bias
        return positions * self.filters * per + activation_flops(self.activation, math.prod(out))

    def forward(self, x, training=False):
        return apply_activation(self.activation, self.forward_pre_activation(x, training))

    def forward_pre_activation(self, x, training=False):
        """The convolution without the activation (a network folds a ReLU into the next max pooling)."""
        op = conv2d if self.rank == 2 else conv1d
        stride = self.strides if self.rank == 2 else self.strides[0]
        dilation = self.dilation if self.rank == 2 else self.dilation[0]
        padding = self.padding if isinstance(self.padding, str) or self.rank == 2 else self.padding[0]
        return op(
            x,
            self.parameters["weights"],
            self.parameters.get("bias"),
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=self.groups,
        )


class Conv1D(_Conv):
    """1-d convolution over samples (C, L) -> (filters, L_out).

    Parameters
    ----------
    filters : int
        Output channels.
    kernel_size, strides, dilation : int
    padding : int, "valid" or "same"
    groups : int
        Channels are split into this many independent groups.
    activation : str, optional
    use_bias : bool
    """

    type_name = "conv1d"
    rank = 1


class Conv2D(_Conv):
    """2-d convolution over samples (C, H, W) -> (filters, H_out, W_out).

    Parameters
    ----------
    filters : int
        Output channels.
    kernel_size, strides, dilation : int or (int, int)
    padding : int, (int, int), "valid" or "same"
    groups : int
        Channels are split into this many independent groups.
    activation : str, optional
    use_bias : bool
    """

    type_name = "conv2d"
    rank = 2
