"""``LayerHealth``: per-layer figures that say why a network is not learning, while it trains.

Every ``interval`` iterations the hook measures, for each layer, its gradient norm, the optimiser's
actual step relative to its weights, its outputs on a fixed probe batch (mean, standard deviation, dead
ReLU units, saturated sigmoid/tanh outputs) and any NaN/inf; it judges them against the limits of
:mod:`engine.hooks.health_rules`, then emits a :class:`~engine.events.LayerHealthReport`, writes the
figures to the registry (``health.<layer>.<figure>``) and logs each new finding as a warning.
"""

from __future__ import annotations

import math

import numpy as np

from ..autodiff.mode import no_grad
from ..autodiff.tensor import Tensor
from ..events import HealthFinding, LayerHealthReport, LogMessage
from .base import Hook, interval_seconds
from .health_rules import SEVERITIES, Thresholds, judge
from .timestep import TimeStep, floor_clock

__all__ = ["LayerHealth", "DEFAULT_HEALTH_INTERVAL"]

#: Iterations between two measurements by default. Measured with ``python -m bench health``: at 50 the
#: hook costs at most about 1% of a training step on W1 (MLP, batch 128) and W2 (CNN, batch 64), and 50
#: iterations is still well under an epoch of every bundled example, so a problem shows within seconds.
DEFAULT_HEALTH_INTERVAL = 50

_RELU = {"relu"}
_BOUNDED = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
_UNITS_LAST = {"simple_rnn", "lstm", "gru", "embedding"}  # (N, T, units): units on the last axis


def _sum_squares(xp, array) -> float:
    flat = array.ravel()
    return (
        float(xp.dot(flat, flat)) if flat.dtype.kind == "f" else float(xp.sum(flat.astype(np.float64) ** 2))
    )


def _finite(xp, array) -> bool:
    return bool(xp.isfinite(array).all())


def _mean_std(xp, data) -> tuple[float, float] | None:
    """Mean and standard deviation of ``data`` accumulated in float64, or None when a value is not
    finite. Float32 outputs are centred in their own dtype, with no float64 copy: ~5x faster than
    ``data.astype(float64)`` then ``mean()`` and ``std()`` (a W2 probe's first layer: 4.7 -> 0.8 ms)."""
    flat = data.reshape(-1)
    n = flat.size
    total = float(xp.sum(flat, dtype=xp.float64))  # non-finite when a value is (or a float64 overflows)
    if not math.isfinite(total) or flat.dtype.kind != "f":
        if not _finite(xp, data):
            return None
        as64 = data.astype(xp.float64)
        return float(as64.mean()), float(as64.std())
    mean = total / n
    centre = flat.dtype.type(mean)  # mean rounded to the data's dtype: E[(x-c)^2] - (mean-c)^2 is exact
    deviations = flat - centre
    xp.multiply(deviations, deviations, out=deviations)
    variance = float(xp.sum(deviations, dtype=xp.float64)) / n - (mean - float(centre)) ** 2
    return mean, math.sqrt(max(variance, 0.0))


class LayerHealth(Hook):
    """Measure and judge every layer's health every ``interval`` iterations.

    Parameters
    ----------
    timestep : TimeStep, optional
        Defaults to every :data:`DEFAULT_HEALTH_INTERVAL` iterations. With an iteration time step the
        weights are copied one iteration before each measurement, so the update ratio is the optimiser's
        actual last step; with an epoch time step the update ratio is not measured.
    probe : array, optional
        The probe batch (N, ...) for activation figures; by default the first ``probe_size`` training
        records in record order, taken at the first measurement and kept, so figures compare over time.
    probe_size : int
        Rows of the default probe batch.
    thresholds : Thresholds, optional
        The limits for findings (:class:`~engine.hooks.health_rules.Thresholds`).
    log : bool
        Also say each new finding once as a warning :class:`~engine.events.LogMessage` (what
        ``sigma train --health`` prints); the report event is emitted either way.
    min_interval_s : float, optional
        Seconds (wall time) a measurement waits for after the last one: a due measurement that comes
        sooner is left out (with an iteration time step this is decided one iteration ahead, when
        the weights would be copied). The studio sets it: its overlay follows the newest report. Which
        iterations are measured then depends on timing; the measurement when the run ends is always
        made.

    Attributes
    ----------
    last : LayerHealthReport or None
        The latest report.
    """

    default_timestep = TimeStep(DEFAULT_HEALTH_INTERVAL, "iteration")
    # Besides its time step, the hook measures once when the run ends (see ``maybe_run``).
    priority = -10  # after the reporters: its figures are about the step they just reported

    def __init__(
        self,
        timestep=None,
        probe=None,
        probe_size: int = 64,
        thresholds=None,
        log: bool = True,
        min_interval_s: float | None = None,
        **kwargs,
    ):
        super().__init__(timestep, **kwargs)
        self.min_interval_s = interval_seconds(min_interval_s)
        self._measured_at: float | None = None  # floor_clock() of the last measurement
        self._skip_next = False  # the next due iteration comes too soon after the last measurement
        if int(probe_size) < 1:
            raise ValueError(
                f"Invalid value for `probe_size`. Expected an integer >= 1. Received: {probe_size!r}"
            )
        self.probe_size = int(probe_size)
        self.probe = None if probe is None else np.asarray(probe)
        self.thresholds = thresholds if thresholds is not None else Thresholds()
        if not isinstance(self.thresholds, Thresholds):
            raise TypeError(f"Invalid value for `thresholds`. Expected Thresholds. Received: {thresholds!r}")
        self.last: LayerHealthReport | None = None
        self.log = bool(log)
        self._before: dict = {}  # parameter id -> copy of its data one step before a measurement
        self._logged: set = set()  # (layer, kind, severity) already said, so a warning is said once
        self._before_iteration: int | None = None

    # ------------------------------------------------------------------ firing
    def maybe_run(self, event, trainer) -> bool:
        if event == "stop" and (self.last is None or self.last.iteration != trainer.iteration):
            # The run's final state, always: a run that stopped on NaN is measured where it failed (the
            # NaN guard stops before the optimiser spreads the NaN, so the culprit layer is named).
            self.run(trainer)
            return True
        step = self._timestep
        if event == step.event and (self._skip_next if step.event == "iteration" else self._too_soon()):
            self._skip_next = False
            if step.due(event, trainer.iteration, trainer.epoch):
                return False  # left out: the last measurement is too recent (min_interval_s)
        ran = super().maybe_run(event, trainer)
        if (
            event in ("start", "iteration")
            and step.event == "iteration"
            and not self.retired
            and step.due("iteration", trainer.iteration + 1, trainer.epoch)
        ):
            # The next iteration is due: decided now whether it is measured, so that it is measured
            # from a copy of the weights it starts from.
            self._skip_next = self._too_soon()
            if not self._skip_next:
                self._remember_weights(trainer)
        return ran

    def _too_soon(self) -> bool:
        return bool(
            self.min_interval_s
            and self._measured_at is not None
            and floor_clock() - self._measured_at < self.min_interval_s
        )

    def _remember_weights(self, trainer) -> None:
        xp = trainer.backend.xp
        for key, p in trainer.network.parameters().items():
            buffer = self._before.get(key)
            if buffer is None or buffer.shape != p.data.shape or type(buffer) is not type(p.data):
                self._before[key] = p.data.copy()
            else:
                xp.copyto(buffer, p.data)
        self._before_iteration = trainer.iteration

    def run(self, trainer) -> None:
        self._measured_at = floor_clock()
        report = self.measure(trainer)
        self.last = report
        for name, figures in report.layers.items():
            for figure, value in figures.items():
                trainer.registry.set(f"health.{name}.{figure}", float(value))
        trainer.events.emit(report)
        if not self.log:
            return
        for finding in report.findings:
            key = (finding.layer, finding.kind, finding.severity)
            if key in self._logged:
                continue
            self._logged.add(key)
            trainer.events.emit(
                LogMessage(
                    source=trainer.name,
                    level="warning",
                    message=f"health at iteration {report.iteration}: {finding.message}",
                )
            )

    # ------------------------------------------------------------------ measuring
    def measure(self, trainer) -> LayerHealthReport:
        """Measure every layer now and judge the figures; returns the report (nothing is emitted)."""
        network, xp = trainer.network, trainer.backend.xp
        layers = {n: layer for n, layer in network.layers.items() if layer.type_name != "input"}
        figures = {name: {} for name in layers}
        bad_weights, bad_grads = [], []
        fresh = self._before_iteration == trainer.iteration - 1
        for name, layer in layers.items():
            params = layer.parameters
            if not params:
                continue
            w2 = g2 = d2 = 0.0
            have_grad, finite_w, finite_g = False, True, True
            for pname, p in params.items():
                # a finite sum of squares means every value is finite; else the exact test says
                ss = _sum_squares(xp, p.data)
                finite_w = finite_w and (math.isfinite(ss) or _finite(xp, p.data))
                w2 += ss
                if p.grad is not None:
                    have_grad = True
                    ss = _sum_squares(xp, p.grad.data)
                    finite_g = finite_g and (math.isfinite(ss) or _finite(xp, p.grad.data))
                    g2 += ss
                before = self._before.get(f"{name}.{pname}")
                if fresh and before is not None and before.shape == p.data.shape:
                    d2 += _sum_squares(xp, p.data - before)
            f = figures[name]
            f["weight_norm"] = float(np.sqrt(w2))
            if have_grad:
                f["grad_norm"] = float(np.sqrt(g2))
            if fresh and self._before:
                before_norm = float(
                    np.sqrt(sum(_sum_squares(xp, self._before[f"{name}.{k}"]) for k in params))
                )
                f["update_ratio"] = float(np.sqrt(d2)) / before_norm if before_norm > 0 else 0.0
            elif self.last is not None and "update_ratio" in self.last.layers.get(name, {}):
                f["update_ratio"] = self.last.layers[name]["update_ratio"]  # the last step measured
            if not finite_w:
                bad_weights.append(name)
            elif not finite_g:
                bad_grads.append(name)
        bad_outputs = self._activation_figures(trainer, layers, figures)
        # One cause, named once: NaN weights poison every output and gradient downstream of them.
        where = {n: "weights" for n in bad_weights}
        if not where and bad_outputs:
            where = {bad_outputs[0]: "outputs"}
        if not where:
            where = {n: "gradients" for n in bad_grads}
        findings = []
        for name, f in figures.items():
            f["nonfinite"] = 1.0 if name in where else 0.0
            for kind, severity, message, value in judge(name, f, self.thresholds, where.get(name, "values")):
                findings.append(HealthFinding(name, kind, severity, message, float(value)))
        findings.sort(key=lambda x: -SEVERITIES.index(x.severity))
        return LayerHealthReport(
            source=trainer.name,
            epoch=trainer.epoch,
            iteration=trainer.iteration,
            layers={n: f for n, f in figures.items() if f},
            findings=tuple(findings),
        )

    def _probe_batch(self, trainer):
        if self.probe is None:
            iterator = getattr(trainer, "iterator", None)
            if iterator is None:
                return None
            from ..training.data import ordered_batches

            try:
                first = next(ordered_batches(iterator, self.probe_size), None)
            except (TypeError, ValueError, KeyError):
                return None  # data without an "inputs" section (several inputs): no activation figures
            if first is None:
                return None
            self.probe = np.asarray(first["inputs"])
        return self.probe

    def _activation_figures(self, trainer, layers, figures) -> list[str]:
        """Outputs on the probe batch: mean, std, dead units, saturation. Returns the layers (in order)
        whose outputs are non-finite while their inputs are finite."""
        network = trainer.network
        probe = self._probe_batch(trainer)
        if probe is None or len(network.input_names) != 1:
            return []
        xp, bad = trainer.backend.xp, []
        values = {}
        with no_grad():
            first = network.input_names[0]
            dtype = network.dtype if network.layers[first].dtype == "float" else np.int64
            values[first] = Tensor(trainer.backend.from_host(np.asarray(probe), dtype))
            for name, layer in network.layers.items():
                if name in values:
                    continue
                sources = [values[s] for s in network.inputs_of(name)]
                out = layer.forward(sources if layer.multi_input else sources[0], False)
                values[name] = out
                if name not in layers or not isinstance(out, Tensor):
                    continue
                data = out.data
                stats = _mean_std(xp, data)
                if stats is None:  # a non-finite output: the first layer whose inputs were finite is named
                    if all(_finite(xp, s.data) for s in sources if isinstance(s, Tensor)):
                        bad.append(name)
                    continue
                f = figures[name]
                f["act_mean"], f["act_std"] = stats
                activation = getattr(layer, "activation", None)
                if activation in _RELU and data.ndim >= 2:
                    axis = data.ndim - 1 if layer.type_name in _UNITS_LAST else 1
                    other = tuple(a for a in range(data.ndim) if a != axis)
                    alive = (data > 0).any(axis=other)
                    f["dead_fraction"] = 1.0 - float(alive.mean())
                elif activation in _BOUNDED:
                    low, high = _BOUNDED[activation]
                    margin = self.thresholds.saturation_margin * (high - low)
                    saturated = (data <= low + margin) | (data >= high - margin)
                    f["saturation"] = float(saturated.mean())
        return bad

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.probe is not None:
            state["probe"] = np.array(self.probe, copy=True)
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if state.get("probe") is not None:
            self.probe = np.asarray(state["probe"])
