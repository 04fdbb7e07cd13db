"""The environment for Open MPI runs on one machine (tests, benchmarks, screenshots).

Containers and CI machines run as root, lack shared-memory single copy and may have no usable network
interface but loopback; ranks may outnumber cores. These settings make ``mpirun -n 2`` work there. They
are not what a cluster wants: there, leave Open MPI's own defaults.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["local_mpi_environment"]

_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the engine package


def local_mpi_environment(base: dict | None = None) -> dict:
    """``base`` (default ``os.environ``) plus Open MPI's one-machine settings, one BLAS thread per rank
    and the engine importable from any working directory (``PYTHONPATH``)."""
    env = dict(os.environ if base is None else base)
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_btl="self,tcp",  # no shared-memory single copy in containers: loopback TCP only
        OMPI_MCA_btl_vader_single_copy_mechanism="none",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        OMPI_MCA_btl_tcp_if_include="lo",
        OMPI_MCA_oob_tcp_if_include="lo",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH", "")])),
    )
    return env
