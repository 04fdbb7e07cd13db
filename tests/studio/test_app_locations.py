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


def test_a_new_application_passes_fractional_scaling_through_and_has_our_icon(tmp_path):
    code = (
        "from studio.app import create_application\n"
        "from PySide6 import QtGui\n"
        "app = create_application()\n"
        "print(QtGui.QGuiApplication.highDpiScaleFactorRoundingPolicy().name)\n"
        "print(app.windowIcon().isNull(), app.organizationName(), app.applicationName())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "QT_SCALE_FACTOR_ROUNDING_POLICY"}
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == ["PassThrough", "False Sigma Sigma Studio"]


def test_the_taskbar_identity_is_set_on_windows_only(monkeypatch):
    import ctypes

    from studio import app

    assert app.set_windows_identity() is False  # not Windows: nothing to do
    calls = []

    class Shell32:  # stands in for Windows' shell32.dll, which this machine does not have
        def SetCurrentProcessExplicitAppUserModelID(self, app_id):  # the Win32 name
            calls.append(app_id)
            return 0

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(ctypes, "windll", type("WinDLL", (), {"shell32": Shell32()})(), raising=False)
    assert app.set_windows_identity() is True
    assert calls == [app.APP_USER_MODEL_ID]
    assert " " not in app.APP_USER_MODEL_ID and len(app.APP_USER_MODEL_ID) <= 128
