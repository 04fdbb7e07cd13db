"""The visual network builder: palette, graph canvas with undo, linear-stack view, properties and live
shape inference over the engine's network spec."""

from .panel import TEMPLATES, NetworkBuilderPanel
from .scene import GraphScene

__all__ = ["NetworkBuilderPanel", "GraphScene", "TEMPLATES"]
