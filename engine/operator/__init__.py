"""The operator (run state, the training loop, the optimiser step) and its workers."""

from .cuda import CUDAOperator, DeviceMemoryError
from .factory import make_operator
from .mpi import MPIOperator
from .operator import Operator
from .state import ERROR, FINISHED, IDLE, PAUSED, RUNNING, STATES, STOPPED, STOPPING, RunControl
from .tally import Tally
from .threaded import ThreadPoolOperator
from .worker import Worker, WorkerResult

__all__ = [
    "Operator",
    "ThreadPoolOperator",
    "CUDAOperator",
    "MPIOperator",
    "DeviceMemoryError",
    "make_operator",
    "Worker",
    "WorkerResult",
    "RunControl",
    "Tally",
    "STATES",
    "IDLE",
    "RUNNING",
    "PAUSED",
    "STOPPING",
    "STOPPED",
    "FINISHED",
    "ERROR",
]
