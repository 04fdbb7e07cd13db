"""The trainer: ties a network, a loss, an optimiser, initialisers, hooks, metrics and the operator."""

from __future__ import annotations

import numpy as np

from ..autodiff.mode import no_grad
from ..autodiff.tensor import Tensor
from ..backend import get_backend
from ..events import EventBus
from ..hooks.base import HookList
from ..operator import Tally
from ..operator.factory import make_operator
from ..optim import from_spec as optimiser_from_spec
from ..registry import Registry
from ..settings import TRAINING_DEFAULTS
from .data import as_dataset, as_iterator, fingerprint_of, ordered_batches
from .history import EPOCH_CAPACITY, ITERATION_CAPACITY, BoundedHistory
from .losses import resolve_loss
from .metrics import get_metric

__all__ = ["Trainer"]


class Trainer:
    """Train a network: ``Trainer(net, optimiser=Adam(0.001), loss="softmax_cross_entropy").fit(data)``.

    Parameters
    ----------
    network : Network
        ``network(inputs, training)``, ``parameters()``, ``buffers()``, ``rng``/``seed()``, ``to_spec()``.
    optimiser : Optimiser, str or dict
        An :mod:`engine.optim` optimiser, a name (``"adam"``) or a spec (``{"type": "sgd", ...}``).
    loss : str or callable, optional
        A name from :mod:`engine.ops.losses` (``"softmax_cross_entropy"``, ``"mean_squared_error"``...) or
        ``loss(outputs, targets) -> 0-d Tensor``; ``None`` uses the network's loss head.
    batch_size : int
        Records per optimiser step. The defaults of these keywords are the project's
        (:data:`engine.settings.TRAINING_DEFAULTS`), so a Trainer built by hand trains like a new project.
    seed : int
        Seeds shuffling, dropout (``network.seed``), initialisers and the trainer's own generator: the
        same seed, data and settings give bit-identical results on the CPU.
    backend : str or Backend
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
    workers : int
        Data-parallel workers computing each batch (CPU threads; the same update as one worker).
    operator : str
        ``"auto"`` (one worker, or a thread pool for ``workers > 1``), ``"single"``, ``"threads"`` or
        ``"mpi"`` (one rank of ``mpirun -n K``); see :func:`engine.operator.factory.make_operator`.
    hooks : sequence of Hook
    initialisers : dict, optional
        Pattern -> initialiser (``{"*.weights": XavierUniform(), "*.bias": Constant(0)}``), applied now.
    metrics : sequence of str or Metric
        Tallied on the device every step (``"accuracy"``, ``"top5_accuracy"``, ``"mae"``, ``"mse"``).
    nan_guard : bool
        Stop with an error naming the first non-finite tensor when the loss stops being finite.
    name : str
        Source name on events.
    events : EventBus, optional
        Share a bus (the environment's); a new one otherwise.
    class_names : sequence of str, optional
        The classes the outputs stand for, in output order; checkpoints keep them, so ``sigma predict``
        and the studio name a checkpoint's columns ``cat``, ``dog`` rather than ``p_0``, ``p_1``.

    Attributes
    ----------
    iteration, epoch : int
        Optimiser steps and epochs done, in total.
    history : BoundedHistory of dict
        One record per epoch: ``{"epoch", "iteration", "loss", <metrics>, "val_loss", ...}``; a list
        that keeps at most 2048 records, evenly downsampled over the run (memory stays flat).
    iteration_history : BoundedHistory of (int, dict)
        ``(iteration, {name: value})`` reports of a recording :class:`~engine.hooks.MetricReporter`,
        at most 4096, evenly downsampled over the run.
    registry : Registry
        Live values (``optimiser.learning_rate``...); changes reach the optimiser and workers at the
        next iteration boundary.
    operator : Operator
        ``pause()``, ``resume()``, ``step()``, ``stop()``, ``reset()`` from any thread; ``state``.
    events : EventBus
    """

    def __init__(
        self,
        network,
        optimiser=TRAINING_DEFAULTS["optimiser"]["type"],
        loss=None,
        batch_size: int = TRAINING_DEFAULTS["batch_size"],
        seed: int = TRAINING_DEFAULTS["seed"],
        backend=TRAINING_DEFAULTS["backend"],
        workers: int = TRAINING_DEFAULTS["workers"],
        operator: str = "auto",
        hooks=(),
        initialisers=None,
        metrics=(),
        nan_guard: bool = True,
        name: str = "trainer",
        events: EventBus | None = None,
        class_names=None,
    ):
        from ..hooks.guards import NaNGuard

        if int(batch_size) < 1:
            raise ValueError(
                f"Invalid value for `batch_size`. Expected an integer >= 1. Received: {batch_size!r}"
            )
        if int(workers) < 1:
            raise ValueError(f"Invalid value for `workers`. Expected an integer >= 1. Received: {workers!r}")
        self.workers = int(workers)
        self.name = name
        self.class_names = None if class_names is None else tuple(str(c) for c in class_names)
        self.network = network
        self.backend = get_backend(backend)
        if self.backend.is_cuda:
            network.to_backend(self.backend)
        self.optimiser = optimiser_from_spec(optimiser)
        self.loss_function, self.loss_name = resolve_loss(loss, network)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.metrics = [get_metric(m) for m in metrics]
        self.events = events if events is not None else EventBus()
        self.rng = np.random.default_rng([self.seed, 2])
        if hasattr(network, "seed"):
            network.seed(self.seed)
        if initialisers and hasattr(network, "initialise"):  # the network knows fans and layer defaults
            network.initialise(initialisers, seed=self.seed)
        elif initialisers:
            from ..init import initialise

            initialise(network.parameters(), initialisers, np.random.default_rng([self.seed, 0]))
        self.registry = Registry()
        if hasattr(network, "publish"):  # network.layers.<layer>.<param> for hooks, initialisers and the GUI
            network.publish(self.registry)
        for hp in self.optimiser.hyperparameters:
            self.registry.set(f"optimiser.{hp}", float(getattr(self.optimiser, hp)))
        self.registry.set("trainer.batch_size", self.batch_size)
        self.registry.set("trainer.seed", self.seed)
        self.iteration = 0
        self.epoch = 0
        self.history = BoundedHistory(capacity=EPOCH_CAPACITY)
        self.iteration_history = BoundedHistory(capacity=ITERATION_CAPACITY)
        self.tally = Tally(self.backend.xp, ["loss", *(m.name for m in self.metrics)])
        self._values: dict = {}
        self.iterator = None
        self.data_fingerprint = ""
        self._pending_iterator_state: dict | None = None
        self._expected_fingerprint = ""
        self._eval_cache: tuple | None = None
        self.hooks = HookList()
        if nan_guard:
            self.add_hook(NaNGuard())
        for hook in hooks:
            self.add_hook(hook)
        self._initial = self._snapshot()
        self.operator = make_operator(self, self.workers, operator)

    # ------------------------------------------------------------------ setup
    def add_hook(self, hook):
        """Attach a hook (see :mod:`engine.hooks`)."""
        self.hooks.add(hook)
        hook.on_attach(self)
        return hook

    def use_operator(self, kind: str = "auto", workers: int | None = None):
        """Replace the operator between runs (``kind`` as the constructor's ``operator``); returns it."""
        if self.operator.control.active:
            raise RuntimeError("the operator cannot change while a run is in progress")
        operator = make_operator(self, self.workers if workers is None else int(workers), kind)
        self.operator.close()
        self.operator, self.workers = operator, int(getattr(operator, "count", 1))
        return operator

    @property
    def parameters(self) -> dict:
        """The network's parameters by identifier (``"fc1.weights"``)."""
        return self.network.parameters()

    # ------------------------------------------------------------------ training
    def fit(
        self,
        data,
        epochs: int = 1,
        validation=None,
        max_iterations: int | None = None,
        raise_errors: bool = True,
    ):
        """Train until ``epochs`` epochs have been done in total (a restored trainer continues where it
        was), or until ``max_iterations`` iterations in total, or a stop.

        Parameters
        ----------
        data : Dataset, MinibatchIterator or (inputs, targets)
            Inputs ``(N, ...)`` float32; targets ``(N,)`` class indices or ``(N, ...)`` values.
        epochs : int
        validation : Dataset or (inputs, targets), optional
            Evaluated after each epoch; its metrics appear as ``val_<name>``.
        max_iterations : int, optional
            Stop after this many iterations in total (possibly mid-epoch).
        raise_errors : bool
            Re-raise an error that stopped training (after the ErrorEvent was emitted).

        Returns
        -------
        list of dict
            The metric history, one record per epoch.

        Blocks the calling thread; control the run from other threads through ``trainer.operator``.
        """
        iterator = self._training_iterator(data)
        try:
            self.operator.run(iterator, int(epochs), max_iterations, validation)
        except Exception:
            if raise_errors:
                raise
        return self.history

    def _training_iterator(self, data):
        fingerprint = fingerprint_of(data)
        expected = self._expected_fingerprint
        if expected and fingerprint and fingerprint != expected:
            raise ValueError(
                f"the training data differs from the data of the restored checkpoint "
                f"(dataset fingerprint {fingerprint[:12]} != {expected[:12]}); an exact resume "
                "needs the same data"
            )
        reuse = (
            self.iterator is not None
            and not hasattr(data, "batches_per_epoch")
            and fingerprint
            and fingerprint == self.data_fingerprint
        )
        iterator = self.iterator if reuse else as_iterator(data, self.batch_size, self.seed)
        if self._pending_iterator_state is not None:
            iterator.load_state_dict(self._pending_iterator_state)
            self._pending_iterator_state = None
        elif iterator is not self.iterator and not hasattr(data, "batches_per_epoch"):
            iterator.load_state_dict({"epoch": self.epoch, "position": 0})  # continue the shuffle rhythm
        self.iterator = iterator
        self.data_fingerprint = fingerprint
        self._expected_fingerprint = ""  # checked once, at the first fit after a restore
        return iterator

    # ------------------------------------------------------------------ inference
    def evaluate(self, data, batch_size: int | None = None) -> dict:
        """Loss and metrics over ``data`` in record order, without dropout or gradients.

        Returns
        -------
        dict
            ``{"loss": float, <metric>: float, ...}`` per-sample averages.
        """
        xp = self.backend.xp
        if self._eval_cache is not None and self._eval_cache[0] is data:
            data = self._eval_cache[1]
        elif isinstance(data, tuple | list):
            dataset = as_dataset(data)
            self._eval_cache, data = (data, dataset), dataset
        sums = {"loss": xp.zeros((), xp.float64), **{m.name: xp.zeros((), xp.float64) for m in self.metrics}}
        count = 0
        with no_grad():
            for batch in ordered_batches(data, batch_size or self.batch_size):
                x = self.backend.from_host(batch["inputs"])
                t = self.backend.from_host(batch["targets"])
                out = self.network(x, training=False)
                n = int(x.shape[0])
                sums["loss"] += self.loss_function(out, t).data * n
                out_data = out.data if isinstance(out, Tensor) else out
                for m in self.metrics:
                    sums[m.name] += m.batch_sum(xp, out_data, t)
                count += n
        return {k: float(v) / max(1, count) for k, v in sums.items()}

    def predict(self, inputs, batch_size: int | None = None) -> np.ndarray:
        """The network's outputs for ``inputs`` (N, ...) as a host array (N, ...); no gradients, batched."""
        inputs = np.asarray(inputs, dtype=np.float32)
        size = batch_size or self.batch_size
        outputs = []
        with no_grad():
            for start in range(0, len(inputs), size):
                out = self.network(self.backend.from_host(inputs[start : start + size]), training=False)
                outputs.append(self.backend.to_host(out.data if isinstance(out, Tensor) else out))
        if not outputs:
            return np.zeros((0,), np.float32)
        return np.concatenate(outputs, axis=0)

    # ------------------------------------------------------------------ values for hooks
    def value(self, name: str):
        """The current value of ``name`` as a float, or None: ``loss`` (last iteration, or the epoch
        average inside epoch hooks), metric and ``val_`` names after an epoch, or a registry identifier."""
        v = self._values.get(name)
        if v is None and "." in name:
            v = self.registry.get(name, None)
        if v is None:
            return None
        try:
            return float(v)
        except (TypeError, ValueError):
            return None

    @property
    def epoch_record(self) -> dict:
        """The current epoch's history record (hooks on ``epoch`` may add values to it)."""
        return self.history[-1] if self.history else {}

    def record_value(self, name: str, value) -> None:
        """Make ``value`` the current value of ``name`` for :meth:`value` (the operator's loss, a
        validation hook's ``val_`` metrics); a device scalar is converted only when read."""
        self._values[name] = value

    def known_values(self) -> list[str]:
        """The names :meth:`value` can answer now (besides registry identifiers)."""
        return sorted(self._values)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """The complete training state, built from the parts' own states, as copies (host arrays).

        See :func:`engine.training.state.state_dict` for the keys. Call it between iterations: from a
        hook, while no run is active, or through ``operator.at_boundary(trainer.state_dict)``.
        """
        from .state import state_dict

        return state_dict(self)

    def load_state_dict(self, state: dict) -> None:
        """Check ``state`` completely, then apply it all at once (an exact resume point).

        Raises
        ------
        engine.training.state.TrainerStateError
            Naming the stage (parameters, buffers, optimiser, counters, rng, iterator, hooks, history,
            commit) and the entry; the trainer is then bitwise what it was.
        """
        from .state import load_state_dict

        if self.operator.control.active:
            raise RuntimeError("cannot load a state while a run is in progress; stop it first")
        load_state_dict(self, state)

    def reset_state(self) -> None:
        """Back to the state at construction (parameters, optimiser, counters, history, hooks)."""
        self._reset_state()

    def _snapshot(self) -> dict:
        net = self.network
        return {
            "parameters": {k: self.backend.to_host(p.data).copy() for k, p in net.parameters().items()},
            "buffers": {
                k: self.backend.to_host(b).copy() for k, b in getattr(net, "buffers", dict)().items()
            },
            "network_rng": net.rng.bit_generator.state if hasattr(net, "rng") else None,
            "optimiser": self.optimiser.state_dict(),
            "hooks": self.hooks.state_dict(),
        }

    def _reset_state(self) -> None:
        """Back to the state at construction (parameters, optimiser, counters, history, hooks)."""
        initial = self._initial
        for k, p in self.network.parameters().items():
            p.data[...] = self.backend.from_host(initial["parameters"][k])
            p.grad = None
        if initial["buffers"] and hasattr(self.network, "load_buffers"):
            self.network.load_buffers({k: self.backend.from_host(v) for k, v in initial["buffers"].items()})
        if initial["network_rng"] is not None:
            self.network.rng.bit_generator.state = initial["network_rng"]
        self.optimiser.load_state_dict(initial["optimiser"])
        self.optimiser.state = {}
        self.hooks.load_state_dict(initial["hooks"])
        self.rng = np.random.default_rng([self.seed, 2])
        self.iteration = self.epoch = 0
        self.history.clear()
        self.iteration_history.clear()
        self.tally = Tally(self.backend.xp, self.tally.names)
        self._values = {}
        self.iterator = None
        self._pending_iterator_state = None

    def __repr__(self) -> str:
        return (
            f"Trainer({type(self.network).__name__}, {self.optimiser!r}, loss={self.loss_name!r}, "
            f"batch_size={self.batch_size}, epoch={self.epoch}, iteration={self.iteration})"
        )
