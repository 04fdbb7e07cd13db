"""Sigma Studio's desktop GUI (PySide6 + pyqtgraph) over the engine.

The studio talks to the engine only through :mod:`studio.bridge`; panels never call a trainer directly.
"""

__all__ = ["RESOURCES"]

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
