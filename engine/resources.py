"""Where the bundled resources (sample data, icons, themes) are, in a checkout, an install or a frozen app."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["resource_roots", "resource_root"]


def resource_roots() -> list[Path]:
    """Candidate ``resources/`` folders, most specific first.

    ``SIGMA_RESOURCES`` (set by users or the installer), the PyInstaller bundle (``sys._MEIPASS``), the
    source checkout (``resources/`` beside ``engine/``) and a pip install (``<prefix>/share/sigma-studio``).
    """
    roots = []
    if os.environ.get("SIGMA_RESOURCES"):
        roots.append(Path(os.environ["SIGMA_RESOURCES"]))
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        roots.append(Path(bundle) / "resources")
    roots.append(Path(__file__).resolve().parent.parent / "resources")
    roots.append(Path(sys.prefix) / "share" / "sigma-studio" / "resources")
    return roots


def resource_root() -> Path:
    """The first existing ``resources/`` folder (the checkout's when none exists, for error messages)."""
    for root in resource_roots():
        if root.is_dir():
            return root
    return Path(__file__).resolve().parent.parent / "resources"
