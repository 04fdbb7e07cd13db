"""The operator (run state, the training loop, the optimiser step) and its workers."""

from .operator import Operator
from .state import ERROR, FINISHED, IDLE, PAUSED, RUNNING, STATES, STOPPED, STOPPING, RunControl
from .tally import Tally
from .worker import Worker, WorkerResult

__all__ = [
    "Operator",
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
