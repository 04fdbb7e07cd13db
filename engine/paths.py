"""Paths inside project files: stored portable, read back on Windows and POSIX alike.

A project written on Windows must open on Linux and the other way round, and a project folder must keep
working when it is moved or copied as a whole. So a path inside a project is stored

- relative to the project file's folder when the file lies inside that folder, else absolute;
- with forward slashes (``data/train.csv``, ``C:/data/x.csv``, ``//server/share/x.csv``), which Windows
  accepts everywhere and POSIX needs;
- without Windows' extended-length prefix (``\\\\?\\``), which only the process that opened the file
  needs.

Reading accepts what older files and hand edits hold too: backslashes, drive letters, UNC paths.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import re
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

__all__ = ["portable_path", "native_path", "is_windows_absolute"]

_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_UNC = re.compile(r"^[\\/]{2}[^\\/]")


def is_windows_absolute(text: str) -> bool:
    """Whether ``text`` is an absolute Windows path: ``C:\\...``, ``C:/...`` or UNC ``\\\\server\\share``."""
    return bool(_DRIVE.match(text) or _UNC.match(text))


def _strip_extended(text: str) -> str:
    r"""``\\?\C:\x`` -> ``C:\x``; ``\\?\UNC\server\share`` -> ``\\server\share``."""
    for prefix in ("\\\\?\\", "//?/"):
        if text.startswith(prefix):
            rest = text[len(prefix) :]
            if rest[:4].upper() in ("UNC\\", "UNC/"):
                return "\\\\" + rest[4:]
            return rest
    return text


def portable_path(path, base=None, *, windows: bool | None = None) -> str:
    """The form a project file stores ``path`` in.

    Parameters
    ----------
    path : str or os.PathLike
        A file the project refers to (absolute, or relative to ``base``).
    base : str or os.PathLike, optional
        The project file's folder. A path inside it is stored relative to it.
    windows : bool, optional
        Read ``path`` and ``base`` with Windows rules (default: when running on Windows). Tests pass
        ``True`` to check the Windows behaviour on any OS.

    Returns
    -------
    str
        Forward slashes only; relative to ``base`` when inside it, else absolute.
    """
    windows = os.name == "nt" if windows is None else windows
    text = _strip_extended(os.fspath(path))
    flavour: type[PurePath] = PureWindowsPath if windows else PurePosixPath
    pure = flavour(text)
    if base is not None and pure.is_absolute():
        root = flavour(_strip_extended(os.fspath(base)))
        try:
            rel = flavour((ntpath if windows else posixpath).relpath(str(pure), str(root)))
        except ValueError:  # another drive or share: no relative form exists
            rel = None
        if rel is not None and ".." not in rel.parts[:1]:  # inside the project's folder
            return rel.as_posix()
    return pure.as_posix()


def native_path(text: str, base=None, *, windows: bool | None = None) -> PurePath:
    """A stored path as a path of this OS, resolved against ``base`` when relative.

    Backslashes in a relative path (a file written on Windows by hand or by an older version) are
    separators on every OS. An absolute Windows path read on POSIX stays as it is: it cannot exist
    here, and the error that follows names it as the user wrote it.

    Parameters
    ----------
    text : str
        The path as the project file holds it.
    base : str or os.PathLike, optional
        The project file's folder.
    windows : bool, optional
        Use Windows rules (default: when running on Windows); with ``windows`` given the result is a
        pure path (no file-system access), else a concrete :class:`pathlib.Path`.
    """
    concrete = windows is None
    windows = os.name == "nt" if windows is None else windows
    text = _strip_extended(os.fspath(text))
    if windows:
        pure: PurePath = PureWindowsPath(text)
        absolute = pure.is_absolute()
    else:
        absolute = text.startswith("/") or is_windows_absolute(text)
        pure = PurePosixPath(text if absolute else text.replace("\\", "/"))
    if not absolute and base is not None:
        pure = (PureWindowsPath if windows else PurePosixPath)(os.fspath(base)) / pure
    return Path(pure) if concrete else pure
