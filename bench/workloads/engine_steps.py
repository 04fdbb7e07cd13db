"""Our engine's training steps, built through its public API only (the studio's code path).

The network is written the Sigma way (``Input(...) + Dense(...) + ...``), handed to
``engine.training.Trainer`` with an ``engine.optim`` optimiser and a loss name. Three ways to time it:

- ``engine`` (:func:`build`): the bare step, what the trainer's operator does per iteration:
  ``operator.compute(batch)`` (the worker's forward, loss and backward) followed by
  ``optimiser.step(parameters)`` on one fixed batch; no data loading, hooks or tallies, like the numpy
  and PyTorch steps.
- ``fit`` (:func:`build_fit`): ``Trainer.fit`` with no hooks at all (not even the NaN guard) on a
  dataset of :data:`EPOCH_BATCHES` batches: the loop, batch gathering with prefetch, the tallies.
- ``studio`` (:func:`build_studio`): ``Trainer.fit`` of the run that :func:`engine.run.build_run` makes
  from a project (the hooks the studio and ``sigma train`` install: per-iteration metric reports, NaN
  guard, resource use, histograms, sample predictions, layer health, runtime log), on the same data read
  back from an ``.npz`` file as a user's would be. This is the figure a user sees.

A ``fit``/``studio`` step is the next :data:`FIT_CALL_ITERATIONS` iterations of one long ``fit`` that
runs in its own thread and waits between calls (the callable's ``iterations`` attribute; the harness
divides by it), so epoch boundaries and their hooks fall inside the timed blocks at their real rate
(every :data:`EPOCH_BATCHES` iterations) and what a run does once is not charged to every call.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from . import Unavailable, make_data

__all__ = ["build", "build_fit", "build_studio", "make_trainer", "EPOCH_BATCHES", "FIT_CALL_ITERATIONS"]

#: Batches per epoch of the ``fit`` and ``studio`` datasets (records = batch size x this).
EPOCH_BATCHES = 64
#: Iterations per timed ``fit`` call.
FIT_CALL_ITERATIONS = 16


def _engine():
    """The engine modules the bench needs, or :class:`Unavailable` naming what is missing."""
    try:
        import engine.layers as layers
        import engine.optim as optim
        from engine.network import Network
        from engine.training import Trainer
    except ImportError as exc:
        raise Unavailable(f"engine part missing: {exc}") from exc
    return layers, optim, Network, Trainer


def _layer(layers, name):
    cls = getattr(layers, name, None)
    if cls is None:
        raise Unavailable(f"engine.layers has no {name}")
    return cls


def _architecture(layers, kind: str, config: dict):
    """The workload's network as a Sigma stack, and the trainer's loss name."""
    Input, Dense = _layer(layers, "Input"), _layer(layers, "Dense")
    if kind in ("mlp_ce", "coord_mlp"):
        sizes = config["sizes"]
        arch = Input((sizes[0],))
        for units in sizes[1:-1]:
            arch = arch + Dense(units, activation="relu")
        if kind == "mlp_ce":
            return arch + Dense(sizes[-1]), "softmax_cross_entropy"
        return arch + Dense(sizes[-1], activation="sigmoid"), "mean_squared_error"
    if kind == "cnn":
        Conv2D, MaxPool2D = _layer(layers, "Conv2D"), _layer(layers, "MaxPool2D")
        Flatten = _layer(layers, "Flatten")
        c1, c2 = config["channels"]
        arch = (
            Input((config["in_channels"], config["size"], config["size"]))
            + Conv2D(c1, 3, padding="same", activation="relu")
            + MaxPool2D(2)
            + Conv2D(c2, 3, padding="same", activation="relu")
            + MaxPool2D(2)
            + Flatten()
            + Dense(config["classes"])
        )
        return arch, "softmax_cross_entropy"
    if kind in ("lstm", "gru"):
        cell = _layer(layers, kind.upper())
        arch = (
            Input((config["steps"], config["inputs"]))
            + cell(config["hidden"], return_sequences=False)
            + Dense(config["classes"])
        )
        return arch, "softmax_cross_entropy"
    raise ValueError(f"unknown workload kind {kind!r}")


def _optimiser_spec(workload, config: dict) -> dict:
    if workload.kind == "mlp_ce":
        return {"type": "momentum", "learning_rate": config["lr"], "momentum": 0.9}
    return {"type": "adam", "learning_rate": config["lr"]}


def make_trainer(workload, config: dict, seed: int = 0, **kwargs):
    """A Trainer for the workload (network, optimiser, loss), as a user or the studio would build it;
    ``kwargs`` go to the Trainer (``hooks``, ``nan_guard``...)."""
    layers, optim, Network, Trainer = _engine()
    arch, loss = _architecture(layers, workload.kind, config)
    network = Network(arch, seed=seed)
    optimiser = optim.from_spec(_optimiser_spec(workload, config))
    return Trainer(network, optimiser=optimiser, loss=loss, batch_size=config["batch"], seed=seed, **kwargs)


def _fit_data(workload, config: dict, seed: int):
    """``EPOCH_BATCHES`` batches of synthetic records, batch ``k`` from seed ``seed + k`` (so batch 0 is
    the bare step's batch); made batch by batch, so the float64 draws never take the RSS past the
    float32 data itself."""
    x0, y0 = make_data(workload, config, seed)
    b = config["batch"]
    inputs = np.empty((b * EPOCH_BATCHES, *x0.shape[1:]), x0.dtype)
    targets = np.empty((b * EPOCH_BATCHES, *y0.shape[1:]), y0.dtype)
    inputs[:b], targets[:b] = x0, y0
    for k in range(1, EPOCH_BATCHES):
        inputs[k * b : (k + 1) * b], targets[k * b : (k + 1) * b] = make_data(workload, config, seed + k)
    return inputs, targets


def _gate_hook(hold_floors: bool = True):
    """The hook that holds one long ``fit`` between timed calls (see :func:`_fit_step`), made on first
    use so that importing this module needs no engine. ``hold_floors``: leave its holds out of the
    hooks' floors in seconds (a run without such hooks must not, when several runs share a process:
    ``bench/train_costs.py``)."""
    from engine.hooks import Hook
    from engine.hooks.timestep import hold_floor_clock

    class BenchGate(Hook):
        """After every iteration (last of all hooks): count down; at zero, say so and wait to go on.
        On going on, first run what ``calls`` holds (in the fit's thread: a profiler's start/stop)."""

        priority = -(10**9)

        def __init__(self):
            super().__init__(name="BenchGate")
            self.left = 0
            self.go, self.done = threading.Event(), threading.Event()
            self.calls: list = []

        def run(self, trainer):
            self.left -= 1
            if self.left <= 0:
                self.done.set()
                held = time.monotonic()
                self.go.wait()
                # A user's run has no such gaps: the floors in seconds (paced hooks, the checkpoint's
                # min_seconds) count only the time it trained, not the other implementations' blocks.
                if hold_floors:
                    hold_floor_clock(time.monotonic() - held)
                self.go.clear()
                while self.calls:
                    self.calls.pop(0)()

    return BenchGate()


def _fit_step(trainer, data, validation=None, hold_floors: bool = True):
    """One timed call: ``FIT_CALL_ITERATIONS`` iterations of ONE long ``trainer.fit``.

    A user's run is one ``fit`` call of many epochs, so what ``fit`` does once per call (the run
    recorder's commits at start and stop, the layer-health measurement at stop, building the iterator)
    is spread over the whole run. Timing separate short ``fit`` calls would charge it to every 16
    iterations: on W2 that alone was ~9 % of a step. So the ``fit`` runs in a thread of its own, started
    by the first call, and a last hook (``BenchGate``) holds it after each call's iterations until the
    next call: the waiting costs no CPU, and the process's CPU clock counts the training thread.
    """
    gate = _gate_hook(hold_floors)
    trainer.hooks.add(gate)
    holder: dict = {}

    def train():
        try:
            trainer.fit(data, epochs=1 << 30, validation=validation)
        except BaseException as exc:  # handed to the timing thread, which re-raises it
            holder["error"] = exc
        finally:
            holder["ended"] = True
            gate.done.set()

    def step():
        gate.left = n
        gate.done.clear()
        if "thread" not in holder:
            holder["thread"] = threading.Thread(target=train, name="bench-fit", daemon=True)
            holder["thread"].start()
        else:
            gate.go.set()
        gate.done.wait()
        if "error" in holder:
            raise holder["error"]
        if holder.get("ended"):
            raise RuntimeError("the timed fit ended before its iterations were done")
        return trainer.value("loss")

    n = FIT_CALL_ITERATIONS
    step.iterations = n
    step.trainer = trainer
    # ``in_fit_thread(fn)``: run ``fn()`` in the fit's thread at the start of the next call (after the
    # first). A profiler that samples only its own thread (pyinstrument) is started and stopped there.
    step.in_fit_thread = gate.calls.append
    return step


def build_fit(workload, config: dict, x, y, seed: int = 0):
    """``Trainer.fit`` without hooks (no NaN guard either) on an in-memory dataset: returns ``step()``
    running :data:`FIT_CALL_ITERATIONS` iterations (``step.iterations``). ``x, y`` are not used: the
    dataset has :data:`EPOCH_BATCHES` batches."""
    from engine.data import Dataset

    trainer = make_trainer(workload, config, seed, nan_guard=False)
    inputs, targets = _fit_data(workload, config, seed)
    # a Dataset made once, as a user calling fit repeatedly would (a tuple is fingerprinted per call)
    # no hook here has a floor in seconds: its holds stay out of the floors' (process-wide) clock
    return _fit_step(trainer, Dataset({"inputs": inputs, "targets": targets}), hold_floors=False)


def build_studio(workload, config: dict, x, y, seed: int = 0):
    """``Trainer.fit`` of :func:`engine.run.build_run` for a project on an ``.npz`` file of the fit
    dataset (the studio's hooks, its default metrics, no validation split): returns ``step()`` as
    :func:`build_fit` does."""
    layers, optim, Network, _ = _engine()
    try:
        from engine.project import Project
        from engine.run import build_run
    except ImportError as exc:
        raise Unavailable(f"engine part missing: {exc}") from exc

    arch, loss = _architecture(layers, workload.kind, config)
    classify = loss == "softmax_cross_entropy"
    inputs, targets = _fit_data(workload, config, seed)
    folder = Path(tempfile.mkdtemp(prefix="sigma-bench-"))
    atexit.register(shutil.rmtree, folder, True)
    np.savez(folder / "data.npz", inputs=inputs, targets=targets)
    del inputs, targets
    project = Project(
        name=f"bench {workload.name}",
        task="classification" if classify else "regression",
        dataset={"source": "data.npz", "validation_split": 0.0},
        network=Network(arch, seed=seed).to_spec(),
        path=folder / "bench.sigma.json",
    )
    project.training.update(
        batch_size=config["batch"],
        seed=seed,
        loss=loss,
        metrics=["accuracy"] if classify else [],
        optimiser=_optimiser_spec(workload, config),
    )
    run = build_run(project)
    return _fit_step(run.trainer, run.train_data, run.validation_data)


def build(workload, config: dict, x, y, seed: int = 0):
    """One engine training step on the fixed batch ``(x, y)``: returns ``step()`` (returns the loss).

    Raises
    ------
    Unavailable
        When a part of the engine this workload needs has not landed.
    """
    trainer = make_trainer(workload, config, seed)
    operator = trainer.operator
    for needed in ("make_workers", "compute"):
        if not hasattr(operator, needed):
            raise Unavailable(f"the trainer's operator has no {needed}()")
    # what Operator.run sets up before its loop
    operator.workers = operator.make_workers()
    operator.parameters = dict(trainer.network.parameters())
    optimiser = trainer.optimiser
    params = operator.parameters
    batch = {"inputs": x, "targets": y}

    def step():
        result = operator.compute(batch)
        optimiser.step(params)
        return result.loss

    return step
