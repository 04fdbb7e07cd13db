"""Which trained network File > Export network to ONNX… and Training > Predict on files… work on, and
how they get it off the GUI thread (``actions.networks``, and the pool job both commands extend).

The network is the current run's, when a run of the open project exists, else the project's last
checkpoint. A running run is paused first, as Save checkpoint now does (a network mid-iteration is half
updated); the job copies the network on the pool and the run resumes as soon as the copy exists, so a
long prediction never holds training up. A network whose spec cannot be rebuilt (a custom layer) is
used in place, and the run resumes when the job ends.
"""

from __future__ import annotations

import os
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

__all__ = ["NetworkSource", "NetworkJob", "NetworkJobs", "independent_copy"]

_NOTHING_TRAINED = (
    "There is no trained network yet: train or restore a checkpoint first "
    "(Training > Start, or Training > Restore checkpoint…)."
)


@dataclass
class NetworkSource:
    """Where a job takes its network from: a live trainer or a checkpoint file."""

    description: str
    trainer: object = None
    checkpoint: str | None = None
    classes: tuple | None = None


def independent_copy(network):
    """A CPU copy of ``network`` (spec, parameters, buffers), or None when its spec cannot be rebuilt."""
    from engine.network import Network

    try:
        copy = Network.from_spec(network.to_spec(), dtype=network.dtype)
        host = network.backend.to_host
        copy.load_parameters({k: host(p.data) for k, p in network.parameters().items()})
        buffers = {k: host(b) for k, b in network.buffers().items()}
        if buffers:
            copy.load_buffers(buffers)
    except ValueError:  # a layer type the spec registry does not know: use the network itself
        return None
    return copy


class NetworkJob(QRunnable):
    """Pool work on a trained network: subclasses implement :meth:`work`.

    Signals (each carries the job first, so receivers are bound methods of main-thread objects and the
    calls are queued to the GUI thread): ``sigReleased(job)`` once the live trainer's network is no
    longer read (the run may resume), ``sigDone(job, result)`` with what :meth:`work` returned,
    ``sigFailed(job, str)`` with a one-line message.
    """

    class Signals(QObject):
        sigReleased = Signal(object)
        sigDone = Signal(object, object)
        sigFailed = Signal(object, str)

    def __init__(self, source: NetworkSource):
        super().__init__()
        self.setAutoDelete(False)  # the commands keep it until its signals have landed
        self.source = source
        self.input_summary = None  # the training inputs' shape and range, once the network is taken
        self.signals = NetworkJob.Signals()
        self.done = threading.Event()

    def work(self, network, classes):  # pool thread
        raise NotImplementedError

    def run(self) -> None:  # pool thread
        released = False
        try:
            classes = self.source.classes
            if self.source.trainer is not None:
                live = self.source.trainer.network
                self.input_summary = getattr(self.source.trainer, "input_summary", None)
                network = independent_copy(live)
                if network is None:
                    network = live
                else:
                    released = True
                    self.signals.sigReleased.emit(self)
            else:
                from engine.predict import load_network

                network, meta = load_network(self.source.checkpoint)
                if isinstance(meta.get("classes"), list):
                    classes = tuple(meta["classes"])
                self.input_summary = meta.get("input_summary")
            result = self.work(network, classes)
        except Exception as exc:  # engine errors say what and where; anything else keeps its class name
            self.signals.sigFailed.emit(self, _one_line(exc))
            self.details = traceback.format_exc()
        else:
            self.signals.sigDone.emit(self, result)
        finally:
            if not released:
                self.signals.sigReleased.emit(self)
            self.done.set()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    mine = type(exc).__module__.startswith("engine.") or isinstance(exc, (ValueError, OSError))
    return text if mine else f"{type(exc).__name__}: {text}"


class NetworkJobs(QObject):
    """Finding the trained network and running :class:`NetworkJob` s on it (exports and predictions)."""

    def __init__(self, actions):
        super().__init__(actions)
        self.actions = actions
        self.window = actions.window
        self._network_jobs: list = []  # jobs started or waiting for the run to pause
        self._waiting_jobs: list = []
        self._holding_jobs: list = []  # jobs still reading the live trainer's network
        self._paused_for_jobs = False
        bridge = getattr(self.window, "bridge", None)
        if bridge is not None:
            bridge.sigStateChanged.connect(self._start_waiting_jobs)

    def network_source(self) -> NetworkSource | None:
        """The trained network to use now, or None (with a message saying what to do)."""
        bridge = getattr(self.window, "bridge", None)
        project = self.window.project
        trainer = getattr(bridge, "trainer", None)
        if bridge is not None and bridge.busy and trainer is None:
            self.actions.message("The run is still starting; try again in a moment.", "info")
            return None
        if trainer is not None and self.actions.run_project is project:
            state = bridge.state  # running, paused, finished, stopped or error
            return NetworkSource(
                f"the current run's network (epoch {trainer.epoch}, iteration {trainer.iteration}, {state})",
                trainer=trainer,
                classes=getattr(bridge.run, "classes", None),
            )
        last = getattr(project, "last_checkpoint", None) if project is not None else None
        if last and os.path.isfile(last):
            return NetworkSource(f"the last checkpoint {Path(last).name}", checkpoint=os.fspath(last))
        if last:
            self.actions.message(
                f"The project's last checkpoint {last} is missing. {_NOTHING_TRAINED}", "error"
            )
        else:
            self.actions.message(_NOTHING_TRAINED, "info")
        return None

    def run(self, job: NetworkJob) -> None:
        """Start ``job`` now, or once a running run has paused at an iteration boundary."""
        bridge = self.window.bridge
        self._network_jobs.append(job)
        if job.source.trainer is not None:
            self._holding_jobs.append(job)
        job.signals.sigReleased.connect(self._release_run)
        job.signals.sigDone.connect(self._forget_job)
        job.signals.sigFailed.connect(self._forget_job)
        if job.source.trainer is not None and bridge.busy and bridge.state in ("starting", "running"):
            self._waiting_jobs.append(job)
            self._paused_for_jobs = True
            bridge.pause()
        elif job.source.trainer is not None and bridge.busy and bridge.state == "stopping":
            self._waiting_jobs.append(job)  # started when the run has stopped
        else:
            QThreadPool.globalInstance().start(job)

    def _start_waiting_jobs(self, state: str) -> None:
        if state in ("paused", "stopped", "finished", "error") and self._waiting_jobs:
            jobs, self._waiting_jobs = self._waiting_jobs, []
            for job in jobs:
                QThreadPool.globalInstance().start(job)

    def _release_run(self, job: NetworkJob) -> None:
        """The job no longer reads the live network: resume the run if a job paused it."""
        if job in self._holding_jobs:
            self._holding_jobs.remove(job)
        if not self._paused_for_jobs or self._holding_jobs or self._waiting_jobs:
            return
        self._paused_for_jobs = False
        saving = self.actions.checkpoints.save_job is not None
        if self.window.bridge.state == "paused" and not saving:
            self.window.bridge.resume()

    def _forget_job(self, job: NetworkJob, _result=None) -> None:
        if job in self._network_jobs:
            self._network_jobs.remove(job)

    def busy(self) -> bool:
        """Whether an export or prediction is still running or waiting."""
        return bool(self._network_jobs)

    def finish(self, timeout_s: float = 30.0) -> None:
        """On close: drop jobs still waiting for a pause, let started ones end (bounded), close dialogs.

        An export writes to a temporary file and renames it, so even a timeout leaves no torn file.
        """
        waiting, self._waiting_jobs = self._waiting_jobs, []
        for job in list(self._network_jobs):
            if job not in waiting:
                job.done.wait(timeout_s)
        for dialog in (self.actions.predictions.dialog, self.actions.exports.dialog):
            if dialog is not None and shiboken6.isValid(dialog):
                dialog.close()
