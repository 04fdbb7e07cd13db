"""Record when and with what view every kind of hook fires; shared by the in-process and MPI tests.

``python hook_semantics_script.py OUT.json OPERATOR WORKERS`` (under ``mpirun -n K`` for ``mpi``) writes
each rank's record of firings to ``OUT.rank<k>.json``.
"""

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.hooks import FunctionHook, TimeStep  # noqa: E402
from engine.hooks.criteria import Threshold  # noqa: E402
from engine.layers import Dense, Input, SoftmaxCrossEntropy  # noqa: E402
from engine.network import Network  # noqa: E402
from engine.training import Trainer  # noqa: E402

BATCH, SAMPLES, EPOCHS = 12, 60, 3  # 5 iterations per epoch, 15 in all


def data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(SAMPLES, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return x, y


def _global_record(log, kind):
    return lambda t: log.append({"kind": kind, "iteration": t.iteration, "epoch": t.epoch})


def _local_record(log, kind):
    def record(view):
        log.append(
            {
                "kind": kind,
                "iteration": view.iteration,
                "epoch": view.epoch,
                "worker": view.index,
                "rows": view.last.size,
                "loss": view.value("loss"),
            }
        )

    return record


def run(operator: str, workers: int) -> dict:
    """Train 3 epochs of 5 iterations with one recording hook of each kind; return what they saw."""
    log: list[dict] = []
    losses: dict[int, float] = {}
    hooks = [
        FunctionHook(_global_record(log, "global every 4"), TimeStep(4, "iteration"), name="g4"),
        FunctionHook(_global_record(log, "global epoch"), TimeStep(1, "epoch"), name="ge"),
        FunctionHook(_global_record(log, "global start"), TimeStep(1, "start"), name="gs"),
        FunctionHook(_global_record(log, "global stop"), TimeStep(1, "stop"), name="gt"),
        FunctionHook(
            _global_record(log, "global gated"),
            TimeStep(1, "iteration"),
            criterion=Threshold("loss", "<", 1e9),
            name="gc",
        ),
        FunctionHook(
            _local_record(log, "local every 4"), TimeStep(4, "iteration"), placement="local", name="l4"
        ),
        FunctionHook(
            _local_record(log, "local every 1"), TimeStep(1, "iteration"), placement="local", name="l1"
        ),
        FunctionHook(
            lambda t: losses.__setitem__(t.iteration, float(t.value("loss"))),
            TimeStep(1, "iteration"),
            name="gl",
        ),
    ]
    net = Network(Input((6,)) + Dense(8, activation="relu") + Dense(2) + SoftmaxCrossEntropy(), seed=1)
    kwargs = {"workers": workers} if operator == "threads" else {}
    trainer = Trainer(
        net, optimiser="sgd", batch_size=BATCH, seed=4, operator=operator, hooks=hooks, **kwargs
    )
    trainer.fit(data(), epochs=EPOCHS)
    runs = {h.name: h.runs for h in trainer.hooks}
    return {"log": log, "losses": losses, "runs": runs, "rank": getattr(trainer.operator, "rank", 0)}


def main(argv):
    out, operator, workers = Path(argv[0]), argv[1], int(argv[2])
    result = run(operator, workers)
    out.with_name(f"{out.stem}.rank{result['rank']}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
