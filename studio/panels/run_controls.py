"""The training panel's run controls: Start, Stop / Pause, Resume, Step, the progress bar, the line with
epoch, iteration and time left, a one-line message and room for notices from outside the panel.

The buttons follow the run state through the one table in :func:`engine.operator.state.allowed_commands`;
the progress line is paced (:class:`studio.pacing.Paced`, 5 updates a second) and reads the bridge's one
estimate of the time left, which the status bar and the log also use.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtWidgets

from engine.operator.state import allowed_commands
from studio.bridge import Bridge
from studio.pacing import Paced
from studio.progress_estimate import format_duration
from studio.widgets.live_text import live_text

__all__ = ["RunControls", "RUN_BUTTONS"]

RUN_BUTTONS = ("start", "pause", "resume", "step", "stop")

_ICONS = {
    "start": "SP_MediaPlay",
    "pause": "SP_MediaPause",
    "resume": "SP_MediaPlay",
    "step": "SP_MediaSkipForward",
    "stop": "SP_MediaStop",
}
# Two rows (Start, Stop / Pause, Resume, Step): they fit a narrow dock column.
_PLACES = {
    "start": (0, 0, 1, 3),
    "stop": (0, 3, 1, 3),
    "pause": (1, 0, 1, 2),
    "resume": (1, 2, 1, 2),
    "step": (1, 4, 1, 2),
}
_TIPS = {
    "start": "Train the project from the start with these settings (F5).",
    "pause": "Pause after the current iteration; the charts keep what they show (F6).",
    "resume": "Carry on training from where it paused (F7).",
    "step": "Run one iteration of a paused run, then pause again (F8).",
    "stop": "Stop after the current iteration; a checkpoint being written completes (Shift+F5).",
}


class RunControls(QtWidgets.QWidget):
    """Run buttons, progress and messages for one bridge.

    Parameters
    ----------
    bridge : Bridge
    planned_epochs : callable
        Returns the epochs the shown project plans (the progress line's "of N").

    Attributes
    ----------
    buttons : dict of str -> QPushButton
        ``start``, ``pause``, ``resume``, ``step``, ``stop``; Start is connected by the owner (it checks
        its settings first), the others go to the bridge.
    progress : QProgressBar
    eta : QLineEdit
        Read-only, see :func:`studio.widgets.live_text.live_text`.
    message : QLabel
        Why Start was refused (hidden when empty).
    """

    def __init__(self, bridge: Bridge, planned_epochs: Callable[[], int], parent=None):
        super().__init__(parent)
        self.bridge = bridge
        self._planned_epochs = planned_epochs
        self._paced = Paced(self._show_progress)
        self.buttons: dict[str, QtWidgets.QPushButton] = {}
        row = QtWidgets.QGridLayout()
        style = self.style()
        for name in RUN_BUTTONS:
            button = QtWidgets.QPushButton(name.capitalize())
            button.setIcon(style.standardIcon(getattr(QtWidgets.QStyle.StandardPixmap, _ICONS[name])))
            button.setObjectName(f"run-{name}")
            button.setToolTip(_TIPS[name])
            row.addWidget(button, *_PLACES[name])
            self.buttons[name] = button
        self.buttons["pause"].clicked.connect(bridge.pause)
        self.buttons["resume"].clicked.connect(bridge.resume)
        self.buttons["step"].clicked.connect(bridge.step)
        self.buttons["stop"].clicked.connect(bridge.stop)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setFormat("%p%")
        self.progress.setToolTip("Share of the planned iterations done.")
        self.eta = live_text("Not started")  # changes 5 times a second: see studio.widgets.live_text
        self.eta.setToolTip(
            "Epoch, iteration and the time left, from the run's speed so far (the status bar and the log "
            "use the same estimate)."
        )
        self.message = QtWidgets.QLabel()
        self.message.setProperty("role", "field-error")
        self.message.setWordWrap(True)
        self.message.hide()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.eta)
        layout.addWidget(self.message)
        self._notices = QtWidgets.QVBoxLayout()  # notices from outside the panel (network vs data)
        layout.addLayout(self._notices)
        bridge.sigStateChanged.connect(self.state_changed)
        bridge.sigIterationMetrics.connect(self._progress)
        bridge.sigFlushed.connect(self._poll_progress)  # a bound method: disconnected with the widget
        self.state_changed(bridge.state)

    def say(self, text: str) -> None:
        """Show ``text`` under the progress line ("" hides it)."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def add_notice(self, widget: QtWidgets.QWidget) -> None:
        """Show ``widget`` under the run controls (it decides its own visibility)."""
        self._notices.addWidget(widget)

    def starting(self) -> None:
        """A run is being started: the bar and the line start again."""
        self.say("")
        self.progress.setValue(0)
        self.eta.setText("Starting…")

    def state_changed(self, state: str) -> None:
        self._paced.flush()  # the last position first; the state's own words go over it
        for name, enabled in allowed_commands(state).items():
            self.buttons[name].setEnabled(enabled)
        if state in ("finished", "stopped", "error"):
            self.eta.setText(
                {"finished": "Finished", "stopped": "Stopped", "error": "Stopped on an error"}[state]
            )
            if state == "finished":
                self.progress.setValue(self.progress.maximum())
        elif state == "paused":
            self.eta.setText("Paused")

    def _progress(self, events: list) -> None:
        self._paced.push(events[-1])

    def _poll_progress(self, _events: int) -> None:
        self._paced.poll()

    def _show_progress(self, e) -> None:
        """The ETA line and the bar for one IterationMetrics event (5 a second: see studio.pacing)."""
        epochs = max(1, int(self._planned_epochs()))
        text = f"Epoch {e.epoch + 1 if e.epoch < epochs else epochs} of {epochs}, iteration {e.iteration}"
        estimate = self.bridge.progress  # the one estimate the status bar and the log agree with
        if estimate.eta_seconds is not None:
            text += f" — about {format_duration(estimate.eta_seconds)} left"
        self.eta.setText(text)
        self.eta.setCursorPosition(0)  # a narrow column shows the start of the line, not its end
        # QProgressBar.setValue repaints at once, inside this Python call and so holding the GIL the
        # training thread wants; with updates off it only records the value, and update() lets the
        # event loop paint it in C++ with the GIL free, in the same pass as the other views.
        self.progress.setUpdatesEnabled(False)
        if e.total_iterations:
            self.progress.setRange(0, int(e.total_iterations))
            self.progress.setValue(min(int(e.iteration), int(e.total_iterations)))
        else:
            self.progress.setRange(0, epochs)
            self.progress.setValue(min(int(e.epoch), epochs))
        self.progress.setUpdatesEnabled(True)
        self.progress.update()
