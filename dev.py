#!/usr/bin/env python3
"""One-command set-up and run, the same on Linux and Windows (only Python 3.11+ needed).

    python3 dev.py studio      # create .venv if needed, install Sigma Studio, launch the studio
    python3 dev.py test        # create .venv if needed, install with test extras, run the whole suite
    python3 dev.py sigma ...   # the `sigma` command from .venv, without activating it

(``py dev.py ...`` on Windows.) Extra arguments after ``test`` go to pytest (``python3 dev.py test -k
conv``); after ``studio`` to the app; after ``sigma`` to the command, run in the current folder.
The virtual environment is reinstalled only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("SIGMA_VENV", ROOT / ".venv"))


def _python() -> Path:
    sub = "Scripts/python.exe" if os.name == "nt" else "bin/python"
    return VENV / sub


def _ensure(extras: str) -> Path:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older Python
        sys.exit(f"Sigma Studio needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    py = _python()
    if not py.exists():
        print(f"[dev] creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, upgrade_deps=False).create(VENV)

    def digest(of: str) -> str:
        return hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + of.encode()).hexdigest()

    def current(of: str) -> bool:
        marker = VENV / f".sigma-installed-{of or 'base'}"
        return marker.exists() and marker.read_text() == digest(of)

    marker = VENV / f".sigma-installed-{extras or 'base'}"
    # The test install holds everything the plain one does: `dev.py sigma` after `dev.py test` is ready.
    if not current(extras) and not (extras == "" and current("test")):
        print(f"[dev] installing sigma-studio{'[' + extras + ']' if extras else ''} into {VENV}", flush=True)
        target = f"{ROOT}[{extras}]" if extras else str(ROOT)
        subprocess.check_call(
            [str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target]
        )
        marker.write_text(digest(extras))
    return py


def _run(args: list[str], cwd: Path = ROOT) -> int:
    """Run a child process; a child killed by a signal is said so, with the shell's exit code 128 + N."""
    code = subprocess.call(args, cwd=cwd)
    if code < 0:
        print(f"[dev] {' '.join(args[1:3])} was killed by signal {-code}", file=sys.stderr)
        return 128 - code
    return code


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("studio", "test", "sigma"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "test":
        py = _ensure("test")
        return _run([str(py), "-m", "pytest", *rest])
    py = _ensure("")
    if command == "sigma":  # relative paths in its arguments are the user's: run where they are
        return _run([str(py), "-m", "engine.cli", *rest], cwd=Path.cwd())
    return _run([str(py), "-m", "studio.app", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
