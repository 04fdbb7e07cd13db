"""Train a small network with dropout and batch norm; run under mpirun with ``--operator mpi``.

``python mpi_script.py OUT.npz [mpi|single]``: rank 0 writes the final parameters, buffers and loss
history to OUT.npz; every rank writes ``OUT.rank<k>.json`` with the events it emitted and whether it
was the writer. ``test_mpi.py`` imports :func:`train` to compute the one-process reference.
"""

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.layers import BatchNorm, Dense, Dropout, Input, SoftmaxCrossEntropy  # noqa: E402
from engine.network import Network  # noqa: E402
from engine.training import Trainer  # noqa: E402


def data():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(60, 12)).astype(np.float32)
    y = (x[:, :3].sum(axis=1) > 0).astype(np.int64) + (x[:, 3] > 1).astype(np.int64)
    return x, y


def train(operator: str = "single", epochs: int = 3):
    """The trainer after ``epochs`` epochs (batch 20, so shards of 10 rows on 2 ranks)."""
    net = Network(
        Input((12,))
        + Dense(16, activation="relu")
        + BatchNorm()
        + Dropout(0.25)
        + Dense(3)
        + SoftmaxCrossEntropy(),
        seed=2,
    )
    trainer = Trainer(
        net,
        optimiser={"type": "momentum", "learning_rate": 0.05, "momentum": 0.9},
        batch_size=20,
        seed=7,
        operator=operator,
        metrics=["accuracy"],
    )
    events = []
    trainer.events.subscribe(lambda e: events.append(type(e).__name__))
    trainer.fit(data(), epochs=epochs)
    return trainer, events


def main(argv):
    out, operator = Path(argv[0]), (argv[1] if len(argv) > 1 else "mpi")
    trainer, events = train(operator)
    op = trainer.operator
    rank = getattr(op, "rank", 0)
    report = {
        "rank": rank,
        "size": getattr(op, "size", 1),
        "writer": getattr(op, "is_writer", True),
        "events": len(events),
        "state": op.state,
        "iteration": trainer.iteration,
    }
    out.with_name(f"{out.stem}.rank{rank}.json").write_text(json.dumps(report))
    if rank == 0:
        arrays = {f"p:{k}": trainer.backend.to_host(p.data) for k, p in trainer.network.parameters().items()}
        arrays.update({f"b:{k}": trainer.backend.to_host(b) for k, b in trainer.network.buffers().items()})
        arrays["loss"] = np.array([r["loss"] for r in trainer.history])
        arrays["accuracy"] = np.array([r["accuracy"] for r in trainer.history])
        np.savez(out, **arrays)


if __name__ == "__main__":
    main(sys.argv[1:])
