"""Packaging: the NSIS installer script compiles, its file lists are exact, and the Linux bundle runs.

The bundle build (PyInstaller, then ``sigma-studio --smoke`` from the bundle) takes one to two minutes;
it runs in CI (PyInstaller is in the ``test`` extra) and is skipped where PyInstaller is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_filelist_module():
    """installer/nsis_filelist.py is a script, not a package module: load it from its file."""
    spec = importlib.util.spec_from_file_location("nsis_filelist", ROOT / "installer" / "nsis_filelist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nsis_filelist = _load_filelist_module()


def _dummy_dist(folder: Path) -> Path:
    dist = folder / "sigma-studio"
    (dist / "_internal" / "resources" / "icons").mkdir(parents=True)
    (dist / "_internal" / "empty").mkdir()
    (dist / "sigma-studio.exe").write_bytes(b"MZ studio")
    (dist / "sigma.exe").write_bytes(b"MZ cli")
    (dist / "_internal" / "resources" / "icons" / "sigma $1.svg").write_text("<svg/>")
    return dist


def test_uninstall_list_removes_exactly_what_is_installed(tmp_path):
    dist = _dummy_dist(tmp_path)
    files, folders = nsis_filelist.write_lists(dist, tmp_path / "lists")
    assert (files, folders) == (3, 4)
    install = (tmp_path / "lists" / "files_install.nsh").read_text().splitlines()
    uninstall = (tmp_path / "lists" / "files_uninstall.nsh").read_text().splitlines()
    assert 'File "${DIST_DIR}\\_internal\\resources\\icons\\sigma $1.svg"' in install  # compile time: as is
    assert 'Delete "$INSTDIR\\_internal\\resources\\icons\\sigma $$1.svg"' in uninstall  # run time: escaped
    assert 'Delete "$INSTDIR\\sigma-studio.exe"' in uninstall
    removed = [line for line in uninstall if line.startswith("RMDir")]
    assert removed == [  # deepest first, never /r, never $INSTDIR itself (the script removes it if empty)
        'RMDir "$INSTDIR\\_internal\\resources\\icons"',
        'RMDir "$INSTDIR\\_internal\\empty"',
        'RMDir "$INSTDIR\\_internal\\resources"',
        'RMDir "$INSTDIR\\_internal"',
    ]
    assert not any("/r" in line for line in uninstall)


@pytest.mark.skipif(shutil.which("makensis") is None, reason="NSIS is not installed (apt-get install nsis)")
def test_nsis_installer_compiles(tmp_path):
    dist = _dummy_dist(tmp_path)
    nsis_filelist.write_lists(dist, tmp_path / "lists")
    out = tmp_path / "SigmaStudio-0.1.0-setup.exe"
    done = subprocess.run(
        [
            "makensis",
            "-V2",
            "-DVERSION=0.1.0",
            f"-DDIST_DIR={dist}",
            f"-DLISTS_DIR={tmp_path / 'lists'}",
            f"-DOUT_FILE={out}",
            str(ROOT / "installer" / "sigma-studio.nsi"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning" not in (done.stdout + done.stderr).lower()
    assert out.read_bytes()[:2] == b"MZ"


def test_icon_has_the_sizes_windows_asks_for():
    from PIL import Image

    with Image.open(ROOT / "installer" / "sigma-studio.ico") as icon:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(icon.info["sizes"])


def test_cuda_libraries_are_the_ones_cupy_loads(monkeypatch):
    spec = importlib.util.spec_from_file_location(
        "pyinstaller_cuda", ROOT / "installer" / "pyinstaller_cuda.py"
    )
    cuda = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cuda)
    monkeypatch.delenv("SIGMA_BUNDLE_CUDA_LIBS", raising=False)
    wanted = [
        "nvidia-cublas",
        "nvidia-cuda-runtime",
        "nvidia-cuda-nvrtc",
        "nvidia-cufft",
        "nvidia-curand",
        "nvidia-cusolver",
        "nvidia-cusparse",
        "nvidia-nvjitlink",
        "nvidia-cublas-cu12",
        "nvidia_curand_cu12",
    ]
    unwanted = [
        "nvidia-cudnn-cu13",
        "nvidia-nccl-cu13",
        "nvidia-cusparselt-cu13",
        "nvidia-cufile",
        "nvidia-nvshmem-cu13",
        "nvidia-ml-py",
        "cupy-cuda13x",
        "numpy",
    ]
    assert all(cuda.wanted_distribution(n) for n in wanted)
    assert not any(cuda.wanted_distribution(n) for n in unwanted)
    monkeypatch.setenv("SIGMA_BUNDLE_CUDA_LIBS", "all")
    assert cuda.wanted_distribution("nvidia-cudnn-cu13") and not cuda.wanted_distribution("numpy")


@pytest.mark.timeout(1200)
@pytest.mark.skipif(sys.platform != "linux", reason="the bundle script is for Linux")
def test_linux_bundle_builds_and_passes_its_smoke_run(tmp_path):
    pytest.importorskip("PyInstaller")
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", str(ROOT / "tools" / "build_bundle.sh"), str(tmp_path / "bundle")],
        capture_output=True,
        text=True,
        timeout=1200,
        env=env,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "bundle OK" in done.stdout
    assert '"ok": true' in (tmp_path / "bundle" / "smoke.log").read_text()
