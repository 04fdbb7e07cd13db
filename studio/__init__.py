"""Sigma Studio's desktop GUI (PySide6 + pyqtgraph) over the engine.

The studio talks to the engine only through :mod:`studio.bridge`; panels never call a trainer directly.
Importing ``studio`` first applies :mod:`studio._pyside_fix` (a PySide6 6.12 reference-count bug that
otherwise aborts Python 3.11 after a few thousand signal emissions).
"""

from engine.resources import resource_root
from studio import _pyside_fix

_pyside_fix.install()

__all__ = ["RESOURCES"]

# Icons and themes: found the same way as the engine's sample data (checkout, pip install or bundle).
RESOURCES = resource_root()
