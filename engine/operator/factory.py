"""Choosing the operator for a trainer: one worker, a thread pool, or MPI ranks."""

from __future__ import annotations

__all__ = ["make_operator", "OPERATOR_KINDS"]

#: Accepted values of ``Trainer(operator=...)``.
OPERATOR_KINDS = ("auto", "single", "threads", "mpi")


def make_operator(trainer, workers: int = 1, kind: str = "auto"):
    """The operator for ``trainer``.

    Parameters
    ----------
    trainer : Trainer
    workers : int
        Data-parallel workers in this process (thread pool). With ``kind="mpi"`` each rank runs one.
    kind : str
        ``"auto"``: one worker for ``workers == 1`` (:class:`~engine.operator.cuda.CUDAOperator` on a
        CUDA backend), a thread pool otherwise; ``"single"``;
        ``"threads"``: a thread pool even of one worker; ``"mpi"``: one rank of an MPI job (see
        :mod:`engine.operator.mpi`; start it with ``mpirun -n K``).

    Raises
    ------
    ValueError
        For an unknown kind, a worker count below 1, several workers on a CUDA backend, or ``"mpi"``
        with more than one worker per rank.
    """
    kind = str(kind).lower()
    if kind not in OPERATOR_KINDS:
        raise ValueError(
            f"Invalid value for `operator`. Expected one of {OPERATOR_KINDS}. Received: {kind!r}"
        )
    workers = int(workers)
    if workers < 1:
        raise ValueError(f"Invalid value for `workers`. Expected an integer >= 1. Received: {workers!r}")
    if kind == "mpi":
        if workers != 1:
            raise ValueError(
                f"Invalid value for `workers` with operator 'mpi': each MPI rank runs one worker "
                f"(start more ranks with mpirun -n K). Received: {workers!r}"
            )
        from .mpi import MPIOperator

        return MPIOperator(trainer)
    if kind == "single" or (kind == "auto" and workers == 1):
        if workers != 1:
            raise ValueError(f"operator 'single' runs one worker, got workers={workers}")
        if getattr(trainer.backend, "is_cuda", False):
            from .cuda import CUDAOperator

            return CUDAOperator(trainer)
        from .operator import Operator

        return Operator(trainer)
    if getattr(trainer.backend, "is_cuda", False) and workers > 1:
        raise ValueError(
            f"Invalid value for `workers` on backend {trainer.backend.name!r}: one CUDA device runs one "
            f"worker (the GPU already works in parallel). Received: {workers!r}"
        )
    from .threaded import ThreadPoolOperator

    return ThreadPoolOperator(trainer, workers)
