"""The training panel: backend, kernels, workers, batch size, epochs (:mod:`studio.panels.run_on`),
optimiser, schedule, early stopping, checkpoint policy; run controls with progress and ETA.

Every accepted edit is written into ``project.training`` at once (so saving the project saves it); a
refused value stays in its field in red with the reason under it and never reaches the project. The
panel also observes ``project.training`` (an :class:`engine.settings.TrainingSettings`): a change made
elsewhere (the builder's batch box, the batch finder) shows here at once. A running trainer takes a new
learning rate at its next iteration through the bridge, which observes the same settings.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from engine.project import ProjectError
from engine.settings import TRAINING_DEFAULTS
from studio.bridge import Bridge
from studio.panels.run_controls import RunControls
from studio.panels.run_on import RunOnBox
from studio.widgets.cost_view import CostView
from studio.widgets.fields import FloatField, IntField, ValidatedField
from studio.widgets.parameter_form import OPTIMISER_PARAMETERS, SCHEDULE_PARAMETERS, ParameterForm

__all__ = ["TrainingPanel", "OPTIMISER_PARAMETERS", "SCHEDULE_PARAMETERS"]


class TrainingPanel(QtWidgets.QWidget):
    """Settings and run controls for the window's current project."""

    sigStartRequested = QtCore.Signal()

    def __init__(self, bridge: Bridge, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.project = None
        self._loading = False  # filling the fields from the settings: nothing is written back
        self._storing = False  # writing a field into the settings: their echo is not shown again
        self.run_on = RunOnBox()
        self.run_on.sigEdited.connect(self._store)
        # The group's fields, as the window and tests reach them.
        self.backend, self.cuda_reason = self.run_on.backend, self.run_on.cuda_reason
        self.kernels, self.kernels_note = self.run_on.kernels, self.run_on.kernels_note
        self.workers, self.batch_size, self.epochs = self.run_on.fields()
        self.optimiser = QtWidgets.QComboBox()
        self.optimiser.addItems(list(OPTIMISER_PARAMETERS))
        self.learning_rate = FloatField(
            "Learning rate",
            0.001,
            0.0,
            10.0,
            minimum_open=True,
            tooltip="Can be changed while training: applied at the next iteration",
        )
        self.optimiser_form = ParameterForm(OPTIMISER_PARAMETERS)
        self.schedule = QtWidgets.QComboBox()
        self.schedule.addItems(list(SCHEDULE_PARAMETERS))
        self.schedule_form = ParameterForm(SCHEDULE_PARAMETERS)
        self.early_stopping = QtWidgets.QGroupBox("Early stopping")
        self.early_stopping.setCheckable(True)
        self.es_metric = QtWidgets.QComboBox()
        self.es_metric.addItems(["val_loss", "loss", "val_accuracy", "accuracy"])
        self.es_patience = IntField("Patience", 5, 1, 100_000)
        self.es_min_delta = FloatField("Minimum improvement", 0.0, 0.0)
        self.ckpt_every = IntField("Checkpoint every (epochs)", 1, 0, 100_000)
        self.ckpt_best = QtWidgets.QCheckBox("Keep only the best")
        self.ckpt_best.setToolTip(
            "Write a checkpoint only when the validation loss is the lowest so far (the best model)."
        )
        self.ckpt_keep = IntField("Keep last", 3, 1, 1000)
        self.ckpt_floor = FloatField(
            "Checkpoint at most every (s)",
            TRAINING_DEFAULTS["checkpoint"]["min_seconds"],
            0.0,
            7 * 24 * 3600.0,
        )

        opt = QtWidgets.QGroupBox("Optimiser")
        f = QtWidgets.QFormLayout(opt)
        f.addRow("Method", self.optimiser)
        f.addRow("Learning rate", self.learning_rate)
        f.addRow(self.optimiser_form)
        f.addRow("Schedule", self.schedule)
        f.addRow(self.schedule_form)
        f = QtWidgets.QFormLayout(self.early_stopping)
        f.addRow("Watch", self.es_metric)
        f.addRow("Patience (epochs)", self.es_patience)
        f.addRow("Min. improvement", self.es_min_delta)
        cost = QtWidgets.QGroupBox("Cost before training")
        self.cost = CostView(compact=True)
        self.cost.sigUseBatch.connect(self._use_batch)
        QtWidgets.QVBoxLayout(cost).addWidget(self.cost)
        ckpt = QtWidgets.QGroupBox("Checkpoints")
        f = QtWidgets.QFormLayout(ckpt)
        f.addRow("Every (epochs)", self.ckpt_every)
        f.addRow("At most every (s)", self.ckpt_floor)
        f.addRow(self.ckpt_best)
        f.addRow("Keep last", self.ckpt_keep)

        self.controls = RunControls(bridge, lambda: self.project.training.epochs if self.project else 1)
        self.controls.buttons["start"].clicked.connect(self.start)
        # The run controls' parts, as the window and tests reach them.
        self.buttons, self.progress = self.controls.buttons, self.controls.progress
        self.eta, self.message = self.controls.eta, self.controls.message
        self._tooltips()

        self.live_box = QtWidgets.QGroupBox("Live values")
        self.live_box.setToolTip("Values that can be changed while training; applied at the next iteration.")
        self.live_form = QtWidgets.QFormLayout(self.live_box)
        self.live_fields: dict[str, ValidatedField] = {}
        self.live_box.hide()
        body = QtWidgets.QWidget()
        v = QtWidgets.QVBoxLayout(body)
        for box in (self.live_box, self.run_on, cost, opt, self.early_stopping, ckpt):
            v.addWidget(box)
        v.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        #: Callables returning why Start is refused ("" to allow it), asked in order before each start.
        self.start_checks: list = []
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(scroll, 1)

        self.optimiser.currentTextChanged.connect(self._optimiser_changed)
        self.learning_rate.sigValueChanged.connect(self._learning_rate_changed)
        self.optimiser_form.sigChanged.connect(lambda _: self._optimiser_form_changed())
        self.schedule.currentTextChanged.connect(self._schedule_changed)
        self.schedule_form.sigChanged.connect(lambda _: self._store_schedule())
        self.early_stopping.toggled.connect(lambda _: self._store_early_stopping())
        self.es_metric.currentTextChanged.connect(lambda _: self._store_early_stopping())
        self.es_patience.sigValueChanged.connect(lambda _: self._store_early_stopping())
        self.es_min_delta.sigValueChanged.connect(lambda _: self._store_early_stopping())
        for w in (self.ckpt_every, self.ckpt_keep, self.ckpt_floor):
            w.sigValueChanged.connect(lambda _: self._store_checkpoint())
        self.ckpt_best.toggled.connect(lambda _: self._store_checkpoint())
        bridge.sigStateChanged.connect(self._state_changed)
        self._state_changed(bridge.state)
        self.setEnabled(False)

    # ------------------------------------------------------------------ project <-> fields
    def set_project(self, project) -> None:
        """Show a project's training settings. The fields then edit ``project.training`` and follow its
        changes made elsewhere (the builder's batch box, the batch finder) as one of its observers."""
        if self.project is not None:
            self.project.training.unsubscribe(self._setting_changed)
        self.project = project
        self.setEnabled(project is not None)
        if project is None:
            return
        project.training.subscribe(self._setting_changed)
        self._show_settings()
        self.cost.set_project(project)

    def _show_settings(self) -> None:
        """Every field from ``project.training`` (nothing is written back while this runs)."""
        t = self.project.training
        self._loading = True
        try:
            self.run_on.show_settings(t)
            opt = t.optimiser if isinstance(t.optimiser, dict) else {"type": t.optimiser or "adam"}
            self.optimiser.setCurrentText(str(opt.get("type", "adam")).lower())
            self.learning_rate.set_value(t.learning_rate)
            self.optimiser_form.rebuild(self.optimiser.currentText(), opt)
            sched = dict(t.schedule or {"type": "none"})
            kind = {"onecycle": "one_cycle", "reduce_on_plateau": "plateau"}.get(
                sched.get("type"), sched.get("type")
            )
            self.schedule.setCurrentText(kind if kind in SCHEDULE_PARAMETERS else "none")
            self.schedule_form.rebuild(self.schedule.currentText(), sched)
            es = t.early_stopping
            self.early_stopping.setChecked(bool(es))
            if es:
                self.es_metric.setCurrentText(es.get("metric", "val_loss"))
                self.es_patience.set_value(int(es.get("patience", 5)))
                self.es_min_delta.set_value(float(es.get("min_delta", 0.0)))
            ck = t.checkpoint or {}
            self.ckpt_every.set_value(int(ck.get("every_epochs", 1) or 0))
            self.ckpt_best.setChecked(bool(ck.get("best_only", False)))
            self.ckpt_keep.set_value(int(ck.get("keep", 3)))
            floor = ck.get("min_seconds")  # absent in files from before the floor: the default
            self.ckpt_floor.set_value(
                float(TRAINING_DEFAULTS["checkpoint"]["min_seconds"] if floor is None else floor)
            )
        finally:
            self._loading = False

    def _setting_changed(self, key: str, value) -> None:
        """An observer of ``project.training``: the field showing ``key`` follows a change made elsewhere."""
        if self._storing:
            return  # this panel's own edit: its field already shows it
        field = {"workers": self.workers, "batch_size": self.batch_size, "epochs": self.epochs}.get(key)
        if field is None:
            self._show_settings()
        elif field.value() != value or field.error():
            self._loading = True
            try:
                field.set_value(int(value))
            finally:
                self._loading = False

    def _store(self, key: str, value) -> None:
        """Write an accepted edit into the project's settings (which check it and tell the observers)."""
        if self.project is None or self._loading:
            return
        self._storing = True
        try:
            self.project.training[key] = value
        except ProjectError as exc:  # the fields check ranges first; this names what they let through
            self._say(str(exc))
        finally:
            self._storing = False

    def _use_batch(self, batch: int) -> None:
        """The batch finder's answer becomes the project's batch size (the fields follow)."""
        if self.project is not None:
            self.project.training.batch_size = int(batch)

    def _optimiser_changed(self, kind: str) -> None:
        if not self._loading:
            self.optimiser_form.rebuild(kind, {})
            self._store_optimiser()

    def _store_optimiser(self) -> None:
        spec = {"type": self.optimiser.currentText(), "learning_rate": self.learning_rate.value()}
        spec.update(self.optimiser_form.values())
        self._store("optimiser", spec)

    def _learning_rate_changed(self, _value: float) -> None:
        # Only the settings: a running trainer hears of it from the bridge, which observes them.
        self._store_optimiser()

    def _optimiser_form_changed(self) -> None:
        self._store_optimiser()

    def _show_live_values(self) -> None:
        """Registry values tagged ``editable`` by the engine or a hook, as fields, while a run is live."""
        while self.live_form.rowCount():
            self.live_form.removeRow(0)
        self.live_fields = {}
        values = {
            k: v
            for k, v in self.bridge.editable_values().items()
            if not k.startswith("optimiser.") and isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        for identifier, value in sorted(values.items()):
            field = IntField(identifier, value) if isinstance(value, int) else FloatField(identifier, value)
            field.sigValueChanged.connect(lambda v, i=identifier: self.bridge.set_value(i, v))
            self.live_form.addRow(identifier, field)
            self.live_fields[identifier] = field
        self.live_box.setVisible(bool(values))

    def _schedule_changed(self, kind: str) -> None:
        if not self._loading:
            self.schedule_form.rebuild(kind, {})
            self._store_schedule()

    def _store_schedule(self) -> None:
        kind = self.schedule.currentText()
        self._store("schedule", None if kind == "none" else {"type": kind, **self.schedule_form.values()})

    def _store_early_stopping(self) -> None:
        if not self.early_stopping.isChecked():
            self._store("early_stopping", None)
            return
        self._store(
            "early_stopping",
            {
                "metric": self.es_metric.currentText(),
                "patience": self.es_patience.value(),
                "min_delta": self.es_min_delta.value(),
            },
        )

    def _store_checkpoint(self) -> None:
        old = dict((self.project.training.checkpoint or {}) if self.project else {})
        old.update(
            {
                "every_epochs": self.ckpt_every.value(),
                "best_only": self.ckpt_best.isChecked(),
                "keep": self.ckpt_keep.value(),
                "min_seconds": self.ckpt_floor.value(),
            }
        )
        self._store("checkpoint", old)

    def invalid_fields(self) -> list[ValidatedField]:
        """Fields whose current text was refused."""
        fields = [
            *self.run_on.fields(),
            self.learning_rate,
            self.es_patience,
            self.es_min_delta,
            self.ckpt_every,
            self.ckpt_keep,
            self.ckpt_floor,
            *self.optimiser_form.fields.values(),
            *self.schedule_form.fields.values(),
        ]
        return [f for f in fields if f.error()]

    # ------------------------------------------------------------------ run control
    def start(self) -> bool:
        """Start training the project, unless a field holds a refused value (then say which)."""
        bad = self.invalid_fields()
        if bad:
            self._say(f"Fix {bad[0].label.lower()} first: {bad[0].error()}")
            return False
        if self.project is None:
            return False
        for check in self.start_checks:
            refusal = check()
            if refusal:
                self._say(refusal)
                return False
        self.controls.starting()
        self.sigStartRequested.emit()
        return self.bridge.start(self.project)

    def _tooltips(self) -> None:
        """A sentence for every control: what it does, its unit, its range (fields add their range)."""
        tips = {
            self.es_patience: "Epochs without improvement before training stops.",
            self.es_min_delta: "The smallest change of the watched metric that counts as an improvement.",
            self.ckpt_every: (
                "Write a checkpoint every this many epochs; 0 writes none during training. The run's "
                "last state is always written when it ends or is stopped (last.h5)."
            ),
            self.ckpt_floor: (
                "Seconds that must pass after a checkpoint before the next one: with short epochs, "
                "saving every epoch would cost time and disk churn. A save skipped for this is not "
                "lost: the next due epoch past it, a pause or the end of the run writes the newest "
                "state. 0 saves every due epoch."
            ),
            self.ckpt_keep: "How many of the newest checkpoints stay on disk.",
        }
        for field, tip in tips.items():
            field.edit.setToolTip(f"{tip} {field.describe_range()}")
        self.optimiser.setToolTip(
            "The update rule: sgd takes plain steps, momentum and adam adapt them; its settings follow."
        )
        self.schedule.setToolTip("How the learning rate changes during training; none keeps it constant.")
        self.early_stopping.setToolTip(
            "Stop training when the watched metric has not improved for Patience epochs."
        )
        self.es_metric.setToolTip(
            "The metric early stopping watches (val_: measured on the validation data)."
        )

    def add_notice(self, widget: QtWidgets.QWidget) -> None:
        """Show ``widget`` under the run controls (it decides its own visibility)."""
        self.controls.add_notice(widget)

    def _say(self, text: str) -> None:
        self.controls.say(text)

    def _state_changed(self, state: str) -> None:
        """The live values while a run is live (the run controls follow the state themselves)."""
        if state == "running" and not self.live_fields:
            self._show_live_values()
        if state in ("finished", "stopped", "error"):
            self.live_box.hide()
            self.live_fields = {}
