"""Where the bundled resources (sample data, icons, themes) are, in a checkout, an install or a frozen app.

An install never looks beside its packages: in ``site-packages`` the folder next to ``engine/`` is
shared with every other distribution, and a ``site-packages/resources`` another package brought would
shadow our icons and theme. Only a source checkout (recognised by its ``pyproject.toml`` naming
``sigma-studio``) uses the ``resources/`` beside ``engine/``.
"""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path

__all__ = ["resource_roots", "resource_root", "checkout_root"]

_PROJECT_NAME = 'name = "sigma-studio"'


def checkout_root() -> Path | None:
    """The source checkout this ``engine`` runs from, or ``None`` for an installed or frozen package."""
    root = Path(__file__).resolve().parent.parent
    try:
        if _PROJECT_NAME in (root / "pyproject.toml").read_text(encoding="utf-8"):
            return root
    except (OSError, UnicodeDecodeError):
        pass
    return None


def _installed_roots() -> list[Path]:
    """``<prefix>/share/sigma-studio/resources`` for the prefixes pip installs data files into."""
    prefixes = [sys.prefix]
    user_base = getattr(site, "USER_BASE", None)  # pip install --user
    if user_base:
        prefixes.append(user_base)
    return [Path(p) / "share" / "sigma-studio" / "resources" for p in dict.fromkeys(prefixes)]


def resource_roots() -> list[Path]:
    """Candidate ``resources/`` folders, most specific first.

    ``SIGMA_RESOURCES`` (set by users or the installer), the PyInstaller bundle (``sys._MEIPASS``), the
    source checkout (``resources/`` beside ``engine/``, only when it is a checkout) and a pip install
    (``<prefix>/share/sigma-studio/resources``, also under the user base for ``pip install --user``).
    """
    roots = []
    if os.environ.get("SIGMA_RESOURCES"):
        roots.append(Path(os.environ["SIGMA_RESOURCES"]))
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        roots.append(Path(bundle) / "resources")
    checkout = checkout_root()
    if checkout is not None:
        roots.append(checkout / "resources")
    roots.extend(_installed_roots())
    return roots


def resource_root() -> Path:
    """The first existing ``resources/`` folder (the most likely one when none exists, for error messages)."""
    roots = resource_roots()
    for root in roots:
        if root.is_dir():
            return root
    return roots[0]
