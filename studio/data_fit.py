"""Does the project's network fit its data? The studio's side of :func:`engine.network.check_fit`.

:class:`DataFit` (one per main window) checks the network against the dataset the dataset panel
imported whenever either changes, and emits the :class:`~engine.network.FitReport`. :class:`FitNotice`
views show it (in the network builder and the training panel) with one button that applies every fix
at once; the training panel's Start asks :meth:`DataFit.refusal` and is refused with the same words
until the network fits.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from engine.network import FitReport, NetworkError, check_fit, fit_to_data

__all__ = ["DataFit", "FitNotice"]


class DataFit(QtCore.QObject):
    """The fit between ``window.project.network`` and ``window.dataset_panel.dataset``.

    Signals
    -------
    sigChanged(FitReport)
        After every check (an empty report when the network fits or no data is loaded).
    sigFixed(str)
        After a fix was applied: what changed, in a sentence.
    """

    sigChanged = QtCore.Signal(object)
    sigFixed = QtCore.Signal(str)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.report = FitReport()
        window.sigProjectChanged.connect(lambda _p: self.refresh())
        panel = getattr(window, "dataset_panel", None)
        if panel is not None:
            panel.sigImported.connect(lambda _d: self.refresh())
        builder = getattr(window, "network_panel", None)
        if builder is not None:  # after each (debounced) shape inference: the spec may have changed
            builder.sigValidated.connect(lambda _ok: self.refresh())

    def data(self) -> tuple[tuple | None, list | None]:
        """The record shape the network will see and the class names, or ``(None, None)`` before an
        import."""
        panel = getattr(self.window, "dataset_panel", None)
        dataset = getattr(panel, "dataset", None)
        if dataset is None:
            return None, None
        classes = list(dataset.classes) if dataset.classes is not None else None
        return panel.network_input_shape(), classes

    def refresh(self) -> FitReport:
        """Check again; emits ``sigChanged`` when the answer changed."""
        project = getattr(self.window, "project", None)
        shape, classes = self.data()
        report = FitReport()
        if project is not None and project.network and shape is not None:
            report = check_fit(project.network, shape, classes)
        if report != self.report:
            self.report = report
            self.sigChanged.emit(report)
        return report

    def refusal(self) -> str:
        """Why Start is refused ("" when the network fits the data)."""
        report = self.refresh()
        if report.fits:
            return ""
        what = f"press “{report.fix_label}”" if report.fixable else "change the network in the builder"
        return f"{report.message} To train, {what}."

    def fix(self) -> bool:
        """Apply every fix at once (the builder shows the new network). Returns whether it worked."""
        project = getattr(self.window, "project", None)
        shape, classes = self.data()
        if project is None or shape is None:
            return False
        label = self.report.fix_label
        try:
            project.network = fit_to_data(project.network, shape, classes)
        except NetworkError as exc:
            self.window.banner.show_message(str(exc), "error")
            return False
        builder = getattr(self.window, "network_panel", None)
        if builder is not None:
            builder.load_project(project)
        self.refresh()
        self.sigFixed.emit(f"Network fitted to the data: {label[:1].lower() + label[1:]}.")
        return True


class FitNotice(QtWidgets.QFrame):
    """A warning strip with the mismatch and the fix button; hidden while the network fits."""

    def __init__(self, fit: DataFit, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("fit-notice")
        self.setStyleSheet(
            "QFrame#fit-notice { background: #fff3e0; border: 1px solid #ef6c00; border-radius: 3px; }"
        )
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.button = QtWidgets.QPushButton()
        self.button.setToolTip("Change the network so it fits the imported data (undo with File > Open).")
        self.button.clicked.connect(fit.fix)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label)
        layout.addWidget(self.button, 0, QtCore.Qt.AlignmentFlag.AlignLeft)
        fit.sigChanged.connect(self.show_report)
        self.show_report(fit.report)

    def show_report(self, report: FitReport) -> None:
        self.setVisible(not report.fits)
        self.label.setText(report.message)
        self.button.setVisible(report.fixable)
        self.button.setText(report.fix_label)
