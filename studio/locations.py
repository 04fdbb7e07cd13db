"""Where the studio writes its own files: the per-user folders Qt's ``QStandardPaths`` names.

On Windows these are under ``%LOCALAPPDATA%\\Sigma\\Sigma Studio`` (AppData), on Linux under
``~/.local/share/Sigma/Sigma Studio`` (XDG), on macOS under ``~/Library/Application Support``; never
the current folder, so running the studio from a repository or a project folder leaves nothing there.
``SIGMA_STUDIO_HOME`` replaces the base folder (tests, portable installs).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QStandardPaths

__all__ = ["data_dir", "log_dir"]


def data_dir() -> Path:
    """The studio's per-user data folder (``$SIGMA_STUDIO_HOME`` if set); not created here.

    Call after the QApplication has its organisation and application names (``create_application``),
    which Qt puts in the path.
    """
    home = os.environ.get("SIGMA_STUDIO_HOME")
    if home:
        return Path(home)
    location = QStandardPaths.StandardLocation.AppLocalDataLocation
    return Path(QStandardPaths.writableLocation(location))


def log_dir() -> Path:
    """Where log files go: ``<data_dir>/logs``; not created here."""
    return data_dir() / "logs"
