"""The operator: owns the run state and the workers, runs the training loop, steps the optimiser.

The loop runs on whichever thread calls :meth:`Operator.run` (the trainer's ``fit``). Commands come
from any thread through :class:`~engine.operator.state.RunControl`.

Live values: the trainer's registry is the one engine-side door. A value set there while training
(``optimiser.learning_rate`` from the studio's bridge, a scheduler hook, a run folder's control file) is
queued here and applied at the next iteration boundary: ``optimiser.*`` to the one optimiser (workers
compute gradients and never hold optimiser settings), anything else to every worker's local registry.
"""

from __future__ import annotations

import threading
import time
import traceback

from ..events import EpochMetrics, ErrorEvent, LogMessage, RunStateChanged
from .state import ERROR, FINISHED, IDLE, STOPPED, RunControl
from .worker import Worker

__all__ = ["Operator"]


class Operator:
    """Run control plus the single-worker training loop.

    Parameters
    ----------
    trainer : Trainer
        Supplies the network, loss, optimiser, hooks, registry, event bus and counters.

    Notes
    -----
    Subclasses for several workers override :meth:`make_workers` and :meth:`compute` (split the batch,
    run the workers, combine their gradients into the trainer's parameters); everything else (run
    state, hooks, bookkeeping, the optimiser step) stays here.
    """

    def __init__(self, trainer):
        self.trainer = trainer
        self.control = RunControl(on_change=self._state_changed)
        self.control.on_pause = lambda: self._fire("pause")
        self.control.on_resume = lambda: self._fire("resume")
        self._pending: list[tuple[str, object]] = []
        self._pending_lock = threading.Lock()
        self._listener = trainer.registry.add_listener(self._registry_changed)
        self.workers: list[Worker] = []
        self.parameters: dict = {}
        self.thread: threading.Thread | None = None
        self.started_at, self.start_iteration = time.perf_counter(), 0
        #: Set before a run's ``stop`` hooks: whether the run failed (an exception; its state is not saved).
        self.failed = False

    # ------------------------------------------------------------------ commands (any thread)
    @property
    def state(self) -> str:
        """``idle``, ``running``, ``paused``, ``stopping``, ``stopped``, ``finished`` or ``error``."""
        return self.control.state

    def pause(self) -> bool:
        """Pause at the next iteration boundary."""
        return self.control.pause()

    def resume(self) -> bool:
        """Continue a paused run."""
        return self.control.resume()

    def step(self, iterations: int = 1) -> bool:
        """While paused, do ``iterations`` more iterations and pause again."""
        return self.control.step(iterations)

    def stop(self, reason: str = "stopped by request") -> bool:
        """Stop cleanly at the next iteration boundary; final (``stop``) hooks run."""
        return self.control.stop(reason)

    def reset(self) -> bool:
        """Back to the trainer's initial state and ``idle`` (after stopping a run in progress)."""
        done = self.control.reset()
        if done:
            self.trainer.reset_state()
        return done

    def at_boundary(self, function, timeout: float | None = None):
        """Call ``function()`` between iterations and return its result (any thread but the GUI's).

        During a run it runs on the training thread at the next iteration boundary (at once when the
        run is paused, before the run ends when it is ending), so it sees a consistent trainer; from
        a hook, or with no run active, it runs here and now. Raises what ``function`` raised, or
        ``TimeoutError`` after ``timeout`` seconds (the call is then withdrawn if it has not started).
        """
        if threading.current_thread() is self.thread:
            return function()
        future = self.control.submit(function)
        if future is None:
            return function()
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def wait(self, *states: str, timeout: float | None = None) -> bool:
        """Block until the run state is one of ``states`` (scripts and tests; never the GUI thread)."""
        return self.control.wait_for(*states, timeout=timeout)

    # ------------------------------------------------------------------ registry values
    def _registry_changed(self, identifier, old, new) -> None:
        with self._pending_lock:
            self._pending.append((identifier, new))

    def sync(self) -> None:
        """Apply queued registry changes to the optimiser and the workers (the training thread calls
        this at each iteration boundary; checkpoints call it before saving)."""
        if not self._pending:  # unlocked peek (every iteration): a change queued just now waits one
            return
        with self._pending_lock:
            changes, self._pending = self._pending, []
        if not changes:
            return
        optimiser = self.trainer.optimiser
        local = []
        for identifier, value in changes:
            head, _, attr = identifier.partition(".")
            if head != "optimiser":
                local.append((identifier, value))
            elif attr in getattr(optimiser, "hyperparameters", ()):
                setattr(optimiser, attr, float(value))
        if local:
            for worker in self.workers:
                worker.apply_changes(local)

    # ------------------------------------------------------------------ workers
    def make_workers(self) -> list[Worker]:
        """One CPU (or single-device) worker on the trainer's own network."""
        t = self.trainer
        return [Worker(t.network, t.loss_function, t.backend, self.worker_registry(), t.metrics)]

    def worker_registry(self):
        """A worker's local registry: a copy of the trainer's without the optimiser's settings (the
        operator steps the one optimiser; a worker only computes gradients)."""
        registry = self.trainer.registry.copy()
        if "optimiser" in registry.keys():
            registry.remove("optimiser")
        return registry

    def compute(self, batch: dict):
        """Loss and gradients of ``batch`` into the trainer's parameters; returns the WorkerResult."""
        return self.workers[0].compute(batch)

    def local_views(self) -> list[Worker]:
        """The workers that computed the last batch: the views local hooks run on, in worker order."""
        return self.workers

    # ------------------------------------------------------------------ the loop
    def run(self, iterator, epochs: int, max_iterations: int | None = None, validation=None) -> str:
        """Train until ``epochs`` epochs (in total) are done, ``max_iterations`` iterations (in total)
        are done, or a stop is requested. Returns the final run state."""
        t = self.trainer
        self.control.begin()
        self.thread = threading.current_thread()
        self.started_at, self.start_iteration = time.perf_counter(), t.iteration
        per_epoch = getattr(iterator, "batches_per_epoch", None)
        planned = None
        if per_epoch:
            planned = t.iteration + max(
                0, epochs * per_epoch - (t.epoch * per_epoch + getattr(iterator, "position", 0))
            )
        if max_iterations is not None:
            planned = max_iterations if planned is None else min(planned, max_iterations)
        t.planned_iterations = planned
        final, error, interrupt = FINISHED, None, None
        try:
            self.workers = self.make_workers()
            self.parameters = dict(t.network.parameters())
            self.sync()
            self._fire("start")
            while t.epoch < epochs:
                if not self._run_epoch(iterator, max_iterations):
                    break
                self._end_epoch(validation)
        except Exception as exc:  # every engine error becomes an ErrorEvent and the "error" state
            final, error = ERROR, exc
        except BaseException as exc:  # Ctrl+C: end cleanly as a stop (final hooks run), then re-raise
            interrupt = exc
            self.control.stop("interrupted")
        self.failed = error is not None  # stop hooks ask it (a failed run's state is not saved)
        try:
            self._fire("stop")
        except Exception as exc:
            if error is None:
                final, error = ERROR, exc
        self.sync()  # values set during the last iteration show in the optimiser after the run
        if error is not None:
            self._report_error(error)
        reset = self.control.finish(final)
        if reset:
            t.reset_state()
            self.control._transition(IDLE)
        if interrupt is not None:
            raise interrupt
        if error is not None:
            raise error
        return self.control.state

    def _run_epoch(self, iterator, max_iterations) -> bool:
        """Iterations until the epoch ends (True) or the run must stop (False)."""
        t = self.trainer
        batches = iter(iterator)
        counted = _counts_position(iterator)
        try:
            while True:
                # finish the epoch without taking a boundary (a step once) for it
                if counted and iterator.position >= iterator.batches_per_epoch:
                    next(batches, None)
                    return True
                if max_iterations is not None and t.iteration >= max_iterations:
                    return False
                if not self.control.boundary():
                    return False
                self.sync()
                batch = next(batches, None)
                if batch is None:
                    return True
                self._iteration(batch)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    def _iteration(self, batch) -> None:
        t = self.trainer
        for w in self.workers:  # the iteration being computed, counted as global hooks count them after it
            w.iteration, w.epoch = t.iteration + 1, t.epoch
        result = self.compute(batch)
        t.hooks.fire_each("iteration", self.local_views())  # local hooks: before the step can spread a NaN
        t.optimiser.step(self.parameters)
        t.iteration += 1
        t.tally.add_step(result.loss, result.size, result.metrics)
        t.record_value("loss", result.loss)
        self._fire("iteration")

    def _end_epoch(self, validation) -> None:
        t = self.trainer
        t.epoch += 1
        record = {"epoch": t.epoch, "iteration": t.iteration}
        record.update(t.tally.averages(t.tally.epoch_start))
        if validation is not None:
            record.update({f"val_{k}": v for k, v in t.evaluate(validation).items()})
        t.tally.mark_epoch()
        t.history.append(record)  # before the hooks, so a checkpoint saved by one includes this epoch
        for k, v in record.items():
            if k not in ("epoch", "iteration"):
                t.record_value(k, v)
        self._fire("epoch")  # hooks may add values to `record` (validation metrics)
        metrics = {k: v for k, v in record.items() if k not in ("epoch", "iteration")}
        t.events.emit(EpochMetrics(source=t.name, epoch=t.epoch, iteration=t.iteration, metrics=metrics))

    def _fire(self, event: str) -> None:
        self.trainer.hooks.fire(event, self.trainer, "global")

    # ------------------------------------------------------------------ reporting
    def _state_changed(self, state: str, previous: str) -> None:
        t = self.trainer
        t.events.emit(RunStateChanged(source=t.name, state=state, previous=previous))
        if state == STOPPED and self.control.stop_reason:
            t.events.emit(
                LogMessage(
                    source=t.name, level="info", message=f"Training stopped: {self.control.stop_reason}"
                )
            )

    def _report_error(self, exc: BaseException) -> None:
        t = self.trainer
        where = f"at epoch {t.epoch + 1}, iteration {t.iteration + 1}"
        message = f"{exc} ({where})" if str(exc) else f"{type(exc).__name__} ({where})"
        t.events.emit(
            ErrorEvent(
                source=t.name,
                message=message,
                kind=type(exc).__name__,
                details="".join(traceback.format_exception(exc)),
            )
        )

    def close(self) -> None:
        """Stop listening to the registry (the trainer is being discarded)."""
        self.trainer.registry.remove_listener(self._listener)


def _counts_position(iterator) -> bool:
    """Whether the iterator says where it is in its epoch (``position`` of ``batches_per_epoch``), so
    the loop can tell it has handed out every batch of its epoch."""
    position, per_epoch = getattr(iterator, "position", None), getattr(iterator, "batches_per_epoch", None)
    return position is not None and per_epoch is not None
