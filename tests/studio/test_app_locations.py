"""Where ``sigma-studio`` writes: per-user folders from QStandardPaths, never the current folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_leaves_nothing_in_the_current_folder_nor_the_users_layout(tmp_path):
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "SIGMA_STUDIO_HOME"))},
        "HOME": str(home),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "studio.app", "--smoke", "--iterations", "3"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(cwd.iterdir()) == []  # no log, checkpoint or autosave in the folder it ran from
    log = home / ".local" / "share" / "Sigma" / "Sigma Studio" / "logs" / "smoke.log"  # XDG data home
    assert f"log in {log}" in done.stdout
    assert json.loads(log.read_text(encoding="utf-8"))["ok"] is True
    assert not (home / ".config" / "Sigma" / "Sigma Studio.conf").exists()  # the layout is the user's


def test_locations_follow_qstandardpaths_and_the_override(qapp, monkeypatch, tmp_path):
    from PySide6.QtCore import QStandardPaths

    from studio import locations

    monkeypatch.delenv("SIGMA_STUDIO_HOME", raising=False)
    expected = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    assert locations.data_dir() == Path(expected)
    assert locations.log_dir() == Path(expected) / "logs"
    monkeypatch.setenv("SIGMA_STUDIO_HOME", str(tmp_path))
    assert locations.log_dir() == tmp_path / "logs"
