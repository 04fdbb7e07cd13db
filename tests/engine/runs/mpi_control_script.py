"""``sigma train`` on one MPI rank, then that rank's optimiser and parameters written to a file.

Run as ``mpirun -n 2 python mpi_control_script.py OUT_DIR train PROJECT --operator mpi ...``: the test
steers the run through its control folder and then checks that every rank applied the same values.
"""

import json
import sys
from pathlib import Path

import numpy as np

import engine.run
from engine.cli import main

built = {}
_build_run = engine.run.build_run


def build_and_keep(*args, **kwargs):
    built["run"] = _build_run(*args, **kwargs)
    return built["run"]


if __name__ == "__main__":
    out = Path(sys.argv[1])
    engine.run.build_run = build_and_keep  # sigma train imports it at call time
    code = main(sys.argv[2:])
    trainer = built["run"].trainer
    rank = trainer.operator.rank
    params = trainer.network.parameters()
    doc = {
        "code": code,
        "rank": rank,
        "learning_rate": float(trainer.optimiser.learning_rate),
        "iteration": int(trainer.iteration),
        "state": trainer.operator.state,
        "checksum": float(sum(np.abs(np.asarray(p.data, dtype=np.float64)).sum() for p in params.values())),
    }
    (out / f"rank-{rank}.json").write_text(json.dumps(doc))
    sys.exit(code)
