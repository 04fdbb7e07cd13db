"""Resources are found through the package's own location, never a generic ``site-packages/resources``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from engine.resources import checkout_root, resource_root, resource_roots

ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_uses_its_own_resources(monkeypatch):
    monkeypatch.delenv("SIGMA_RESOURCES", raising=False)
    assert checkout_root() == ROOT
    assert resource_root() == ROOT / "resources"


def test_the_environment_variable_comes_first(monkeypatch, tmp_path):
    monkeypatch.setenv("SIGMA_RESOURCES", str(tmp_path))
    assert resource_roots()[0] == tmp_path and resource_root() == tmp_path


def test_an_installed_engine_ignores_a_resources_folder_beside_it(tmp_path):
    # An install: engine/ copied into a site-packages-like folder that another package has put a
    # "resources" folder in. That folder must not be used; <prefix>/share/sigma-studio is.
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "engine", site / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    (site / "resources" / "samples").mkdir(parents=True)  # the decoy
    env = {k: v for k, v in os.environ.items() if k not in ("SIGMA_RESOURCES", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    done = subprocess.run(
        [sys.executable, "-c", "from engine.resources import resource_roots as r; print(*r(), sep='\\n')"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    roots = [Path(line) for line in done.stdout.splitlines()]
    assert site / "resources" not in roots
    assert Path(sys.prefix) / "share" / "sigma-studio" / "resources" in roots
