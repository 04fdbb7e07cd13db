"""The wheel installs only ``engine`` and ``studio`` into a clean venv and runs from an unrelated folder.

``tools/check_wheel.py`` does the work (about a minute: build, install, sigma new/train, studio smoke);
``.ci/run`` runs it directly, so here it is marked slow.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("build") is None, reason="needs the 'build' package (test extra)"
)
def test_wheel_installs_into_a_clean_venv_and_runs(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_wheel.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[wheel] wheel OK" in done.stdout
