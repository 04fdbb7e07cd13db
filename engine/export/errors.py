"""The error the ONNX exporter raises."""

from __future__ import annotations

__all__ = ["ExportError"]


class ExportError(ValueError):
    """A network (or one of its layers) that cannot be written as ONNX.

    Attributes
    ----------
    layer : str or None
        The name of the layer at fault.
    """

    def __init__(self, message: str, layer: str | None = None):
        super().__init__(message)
        self.layer = layer
