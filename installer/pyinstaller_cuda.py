"""What PyInstaller must add to a bundle so that CuPy works in it (PyInstaller has no CuPy hook).

Used by ``build_installer.spec``; runnable alone to see what would be bundled::

    python installer/pyinstaller_cuda.py

CuPy imports most of itself lazily and compiles kernels at run time from headers it ships, so all its
submodules and data files go in. The CUDA libraries themselves (cuBLAS, NVRTC, the runtime...) come
either with CuPy's own wheel or, for CuPy 13+ wheels, from NVIDIA's pip packages (``nvidia-cublas``,
``nvidia-cuda-nvrtc``...). Those live in the namespace package ``nvidia``, whose parts
are spread over several folders: ``collect_dynamic_libs("nvidia")`` sees only one of them, so the
libraries are listed from each distribution's file record instead, keeping their folders relative to
site-packages (CuPy's library finder looks for them there, which in a bundle is ``_internal/``).
"""

from __future__ import annotations

import importlib.metadata
import os
import re

__all__ = ["cupy_available", "collect_cupy", "wanted_distribution"]

_SHARED = re.compile(r"\.(so(\.\d+)*|dll|dylib)$")
#: The NVIDIA wheels holding libraries CuPy loads (runtime, NVRTC, the math libraries and nvJitLink,
#: which cuSPARSE needs), with or without a ``-cu12``/``-cu13`` suffix. Other NVIDIA wheels in the
#: environment (cuDNN, NCCL, cuSPARSELt... for PyTorch) would add gigabytes that CuPy never opens;
#: ``SIGMA_BUNDLE_CUDA_LIBS=all`` takes every ``nvidia-*`` wheel anyway.
CUPY_DISTRIBUTIONS = re.compile(
    r"^nvidia[-_](cuda[-_]runtime|cuda[-_]nvrtc|cublas|cufft|curand|cusolver|cusparse|nvjitlink)([-_]cu\d+)?$",
    re.IGNORECASE,
)
_ALL_NVIDIA = re.compile(r"^nvidia[-_]", re.IGNORECASE)


def wanted_distribution(name: str) -> bool:
    """Whether the libraries of the pip distribution ``name`` go into the bundle."""
    if os.environ.get("SIGMA_BUNDLE_CUDA_LIBS") == "all":
        return bool(_ALL_NVIDIA.match(name))
    return bool(CUPY_DISTRIBUTIONS.match(name))


def cupy_available() -> bool:
    """Whether ``cupy`` imports in the building environment."""
    try:
        import cupy  # noqa: F401
    except Exception:
        return False
    return True


def _cuda_distribution_libraries():
    """(source path, destination folder) for every shared library of NVIDIA's CUDA pip packages."""
    found = []
    for dist in importlib.metadata.distributions():
        if not wanted_distribution(dist.metadata["Name"] or ""):
            continue
        for record in dist.files or ():
            if not _SHARED.search(record.name):
                continue
            source = os.path.abspath(record.locate())
            if os.path.isfile(source):
                found.append((source, os.path.dirname(str(record)) or "."))
    return found


def collect_cupy():
    """``(hiddenimports, datas, binaries)`` for CuPy and the CUDA libraries it loads."""
    from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs, collect_submodules

    hiddenimports, datas, binaries = [], [], []
    for package in ("cupy", "cupy_backends"):
        hiddenimports += collect_submodules(package)
        datas += collect_data_files(package, include_py_files=False)
        binaries += collect_dynamic_libs(package)
    for optional in ("fastrlock", "cuda.pathfinder", "cuda.bindings"):  # dependencies of some CuPy versions
        try:
            hiddenimports += collect_submodules(optional)
        except Exception:
            continue
    binaries += _cuda_distribution_libraries()
    return hiddenimports, datas, binaries


if __name__ == "__main__":
    if not cupy_available():
        raise SystemExit("CuPy is not importable here: nothing would be bundled for CUDA")
    hidden, data, libs = collect_cupy()
    print(f"{len(hidden)} modules, {len(data)} data files, {len(libs)} shared libraries")
    for source, dest in sorted(libs, key=lambda item: item[0]):
        print(f"  {dest}/{os.path.basename(source)}")
