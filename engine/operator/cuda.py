"""The single worker on a CUDA device: clear out-of-memory errors and the memory pool released after a run.

The worker itself is the ordinary :class:`~engine.operator.worker.Worker`: the network's parameters live on
the device (the trainer moved them there; initial values were drawn on the host, so CPU and CUDA runs
start equal), batches are copied in by ``backend.from_host``, and the loss and metric sums stay on the
device in the trainer's tally. Nothing crosses to the host per step unless a hook asks for a value (the
NaN guard checks every 20 iterations on a GPU; reporters convert when a report is due).
"""

from __future__ import annotations

from .operator import Operator

__all__ = ["CUDAOperator", "DeviceMemoryError", "is_out_of_memory"]


class DeviceMemoryError(MemoryError):
    """The GPU ran out of memory; the message says what was running and suggests a smaller batch."""


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is CuPy's (or cuBLAS/cuDNN's) way of saying the device memory is exhausted."""
    if isinstance(exc, DeviceMemoryError):
        return False
    name, text = type(exc).__name__, str(exc)
    return (
        name == "OutOfMemoryError"
        or "cudaErrorMemoryAllocation" in text
        or "CUBLAS_STATUS_ALLOC_FAILED" in text
        or "CUDNN_STATUS_ALLOC_FAILED" in text
        or ("out of memory" in text.lower() and type(exc).__module__.startswith("cupy"))
    )


class CUDAOperator(Operator):
    """The one-worker operator on a CUDA backend.

    Differences from :class:`Operator`: running out of device memory raises :class:`DeviceMemoryError`
    naming the batch size and suggesting a smaller one (also emitted as the run's ``ErrorEvent``), and
    the backend's memory pool is released when a run ends, however it ends.
    """

    def compute(self, batch: dict):
        try:
            return super().compute(batch)
        except Exception as exc:
            if is_out_of_memory(exc):
                raise self._memory_error(exc) from exc
            raise

    def run(self, *args, **kwargs):
        try:
            return super().run(*args, **kwargs)
        except Exception as exc:
            if is_out_of_memory(exc):  # outside compute: the optimiser's state, validation...
                raise self._memory_error(exc) from exc
            raise
        finally:
            self.trainer.backend.free_memory()

    def _memory_error(self, exc: BaseException) -> DeviceMemoryError:
        t = self.trainer
        size = int(t.batch_size)
        smaller = max(1, size // 2)
        return DeviceMemoryError(
            f"out of GPU memory on {t.backend.name} training with batch size {size}: try a smaller batch "
            f"size (e.g. {smaller}), a smaller network, or the CPU backend ({type(exc).__name__}: {exc})"
        )
