"""Array backends: numpy on the CPU, CuPy on CUDA.

This is the only module in the engine that imports cupy. Everything else receives ``xp`` (the array
module) from a :class:`Backend` and never branches on array types itself.
"""

from __future__ import annotations

import threading

import numpy as np

from engine.optional import MissingDependency

__all__ = [
    "Backend",
    "get_backend",
    "cuda_status",
    "backend_of",
    "available_backends",
    "to_host",
    "CuPyMissing",
]

_cupy = None
_cupy_reason: str | None = None
_cupy_missing = False  # CuPy is not installed at all (rather than installed and failing)
_cupy_lock = threading.Lock()


def _try_cupy():
    """Import cupy once and run a tiny kernel; remember why it failed if it did."""
    global _cupy, _cupy_reason, _cupy_missing
    with _cupy_lock:
        if _cupy is not None or _cupy_reason is not None:
            return _cupy
        try:
            import cupy  # the one place cupy is imported
        except Exception as exc:  # ImportError, or a broken CUDA install raising at import
            _cupy_missing = isinstance(exc, ModuleNotFoundError) and exc.name == "cupy"
            _cupy_reason = f"CuPy is not installed ({type(exc).__name__}: {exc})"
            return None
        try:
            if not cupy.is_available():
                _cupy_reason = "CuPy is installed but no CUDA device is available"
                return None
            probe = cupy.arange(4, dtype=cupy.float32) * 2
            if float(probe.sum()) != 12.0:
                _cupy_reason = "CuPy's test kernel returned a wrong result"
                return None
        except Exception as exc:
            _cupy_reason = f"CuPy could not run a kernel ({type(exc).__name__}: {exc})"
            return None
        _cupy = cupy
        return _cupy


def cuda_status() -> tuple[bool, str]:
    """Say whether CUDA can be used, and why not when it cannot.

    Returns
    -------
    (available, reason): reason is a sentence for the user (empty when available).
    """
    cp = _try_cupy()
    if cp is None:
        return False, _cupy_reason or "CuPy is unavailable"
    return True, ""


class Backend:
    """An array module plus the policies that go with it.

    Attributes
    ----------
    name : str
        ``"cpu"`` or ``"cuda:N"``.
    xp : module
        ``numpy`` or ``cupy``.
    dtype : numpy dtype
        Default floating dtype for computation (float32 unless asked otherwise).
    reason : str
        Why this backend was chosen (useful when ``auto`` fell back to the CPU).
    """

    def __init__(self, name: str, xp, dtype=np.float32, reason: str = "", device_id: int | None = None):
        self.name = name
        self.xp = xp
        self.dtype = np.dtype(dtype)
        self.reason = reason
        self.device_id = device_id

    @property
    def is_cuda(self) -> bool:
        return self.name.startswith("cuda")

    def to_host(self, array) -> np.ndarray:
        """Return a numpy copy-or-view of ``array`` on the host (always a copy for device arrays)."""
        return to_host(array)

    def from_host(self, array, dtype=None):
        """Move a host array onto this backend's device, optionally casting to ``dtype``."""
        array = np.asarray(array)
        if dtype is not None and array.dtype != dtype:
            array = array.astype(dtype)
        if self.is_cuda:
            with self.xp.cuda.Device(self.device_id or 0):
                return self.xp.asarray(array)
        return array

    def device_context(self):
        """A context manager that makes this backend's device current (a no-op on the CPU)."""
        if self.is_cuda:
            return self.xp.cuda.Device(self.device_id or 0)
        return _NullContext()

    def synchronize(self) -> None:
        """Wait for queued device work (a no-op on the CPU)."""
        if self.is_cuda:
            self.xp.cuda.Device(self.device_id or 0).synchronize()

    def free_memory(self) -> None:
        """Release cached device memory back to the driver (a no-op on the CPU)."""
        if self.is_cuda:
            self.xp.get_default_memory_pool().free_all_blocks()
            self.xp.get_default_pinned_memory_pool().free_all_blocks()

    def memory_used(self) -> int:
        """Bytes of device memory held by this backend's pool (0 on the CPU)."""
        if self.is_cuda:
            return int(self.xp.get_default_memory_pool().used_bytes())
        return 0

    def __repr__(self) -> str:
        return f"Backend({self.name!r}, dtype={self.dtype.name})"


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_CPU = Backend("cpu", np, reason="CPU selected")


class CuPyMissing(MissingDependency, ValueError):
    """``"cuda"`` asked for where CuPy is not installed (a ValueError, as any unusable backend)."""


def get_backend(name: str | Backend = "auto", dtype=np.float32) -> Backend:
    """Return a backend by name: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.

    ``auto`` picks CUDA only when CuPy imports, reports a device and runs a tiny kernel; otherwise it
    falls back to the CPU and the returned backend's ``reason`` says why.

    Raises
    ------
    ValueError
        For an unknown name, or ``"cuda"`` asked for explicitly when CUDA cannot be used
        (:class:`CuPyMissing`, also an :class:`engine.optional.MissingDependency`, when CuPy is not
        installed at all).
    """
    if isinstance(name, Backend):
        return name
    dtype = np.dtype(dtype)
    key = str(name).strip().lower()
    if key == "cpu":
        return _CPU if dtype == _CPU.dtype else Backend("cpu", np, dtype, "CPU selected")
    if key == "auto":
        ok, why = cuda_status()
        if ok:
            return Backend("cuda:0", _cupy, dtype, "CUDA available: using GPU 0", 0)
        return Backend("cpu", np, dtype, f"CPU: {why}")
    if key.startswith("cuda"):
        device_id = 0
        if ":" in key:
            try:
                device_id = int(key.split(":", 1)[1])
            except ValueError:
                raise ValueError(f"Invalid backend {name!r}: expected 'cuda:N' with an integer N") from None
        ok, why = cuda_status()
        if not ok and _cupy_missing:
            raise CuPyMissing(f"backend {name!r}", "cupy-cuda12x", "cuda", detail=why)
        if not ok:
            raise ValueError(f"Backend {name!r} is not usable: {why}")
        count = _cupy.cuda.runtime.getDeviceCount()
        if device_id >= count:
            raise ValueError(f"Backend {name!r} is not usable: only {count} CUDA device(s) present")
        return Backend(f"cuda:{device_id}", _cupy, dtype, f"CUDA device {device_id} selected", device_id)
    raise ValueError(f"Invalid backend {name!r}. Expected one of 'cpu', 'cuda', 'cuda:N', 'auto'.")


def available_backends() -> list[str]:
    """Names of the backends that work on this machine (``["cpu"]`` plus ``"cuda:N"`` for each GPU)."""
    names = ["cpu"]
    ok, _ = cuda_status()
    if ok:
        names += [f"cuda:{i}" for i in range(_cupy.cuda.runtime.getDeviceCount())]
    return names


def backend_of(array) -> Backend:
    """The backend that owns ``array`` (CPU for numpy arrays and scalars)."""
    if isinstance(array, np.ndarray | np.generic) or _cupy is None:
        return _CPU
    if isinstance(array, _cupy.ndarray):
        dev = array.device.id
        return Backend(f"cuda:{dev}", _cupy, array.dtype if array.dtype.kind == "f" else np.float32, "", dev)
    return _CPU


def get_array_module(array):
    """``numpy`` or ``cupy``, whichever owns ``array``."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


def to_host(array, copy: bool = False) -> np.ndarray:
    """``array`` (numpy, cupy or array-like) as a numpy array on the host: the one device-to-host path.

    A device array is always copied (``cupy.ndarray.get``); a host array is returned as it is, or copied
    when ``copy`` is true (for values that must not change with the live buffer, as in events).
    """
    if not isinstance(array, np.ndarray) and hasattr(array, "get") and hasattr(array, "device"):
        return array.get()
    return np.array(array, copy=True) if copy else np.asarray(array)
