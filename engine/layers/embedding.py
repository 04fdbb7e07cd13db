"""Embedding: integer tokens to learnt vectors."""

from __future__ import annotations

from ..init import Uniform
from ..ops.embedding import embedding
from .base import Layer, check_int

__all__ = ["Embedding"]


class Embedding(Layer):
    """Look up a learnt vector per token: integer samples S -> S + (output_dim,).

    Feed it from an ``Input(shape, dtype="int")``. ``weights`` has shape (input_dim, output_dim);
    indices must lie in ``[0, input_dim)``.
    """

    type_name = "embedding"
    input_kind = "int"

    def __init__(
        self, input_dim: int, output_dim: int, name: str | None = None, init=None, trainable: bool = True
    ):
        super().__init__(name, init, trainable)
        self.input_dim = check_int(self, "input_dim", input_dim)
        self.output_dim = check_int(self, "output_dim", output_dim)

    def config(self):
        return {"input_dim": self.input_dim, "output_dim": self.output_dim}

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def param_shapes(self, input_shape):
        return {"weights": (self.input_dim, self.output_dim)}

    def default_initialisers(self):
        return {"weights": Uniform(-0.05, 0.05)}

    def forward(self, x, training=False):
        return embedding(x, self.parameters["weights"])
