"""The training panel's "Run on" group: where and how a run computes (backend, kernels, workers) and how
much (batch size, epochs).

It only shows values and says which field changed (``sigEdited(key, value)``); the training panel
writes them into ``project.training`` and fills the group from it (:meth:`RunOnBox.show_settings`).
"""

from __future__ import annotations

import os

from PySide6 import QtCore, QtWidgets

from engine.backend import cuda_status
from engine.kernels import CHOICES as KERNELS
from engine.kernels import numba_status, process_choice
from engine.settings import TRAINING_DEFAULTS
from studio.widgets.fields import IntField

__all__ = ["RunOnBox", "kernels_tooltip"]


def kernels_tooltip(numba_words: str) -> str:
    """What the kernels choice costs and buys, and whether numba is installed here."""
    return (
        "Which kernels run a network's 2x2 max pooling and its convolutions' input gradient. numpy "
        "(default): nothing more to install or load. compiled: the optional numba kernels, one pass "
        "each instead of numpy's several, with the same results; a CNN with pooling trains faster "
        "(its step ~0.75-0.85 of the time), other networks the same. Cost: ~105 MiB more memory from "
        "the first such run until the studio closes, and a compile of a few seconds on the first run "
        f"(about half a second later, from numba's cache). {numba_words}."
    )


class RunOnBox(QtWidgets.QGroupBox):
    """Backend (with why CUDA is unavailable), kernels (with whether numba is installed), workers, batch
    size, epochs. Emits ``sigEdited(key, value)`` with the ``training`` key of an accepted edit."""

    sigEdited = QtCore.Signal(str, object)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__("Run on", parent)
        self._loading = False  # filling the fields: nothing is emitted
        cores = os.cpu_count() or 1

        self.backend = QtWidgets.QComboBox()
        self.backend.addItems(["cpu", "cuda", "auto"])
        self.backend.setItemData(
            2, "CUDA when it works here, else the CPU", QtCore.Qt.ItemDataRole.ToolTipRole
        )
        available, reason = cuda_status()
        self.cuda_reason = self._caption("" if available else f"CUDA unavailable: {reason}")
        if not available:
            self.backend.model().item(1).setEnabled(False)
            self.backend.setItemData(1, reason, QtCore.Qt.ItemDataRole.ToolTipRole)
        self.kernels = QtWidgets.QComboBox()
        self.kernels.addItems(list(KERNELS))
        installed, words = numba_status()
        self.kernels.setToolTip(kernels_tooltip(words))
        self.kernels_note = self._caption(self._kernels_words(installed, words))
        self.workers = IntField("Workers", 1, 1, cores, maximum_reason=f"this computer has {cores} cores")
        self.batch_size = IntField("Batch size", TRAINING_DEFAULTS["batch_size"], 1, 1_000_000)
        self.epochs = IntField("Epochs", TRAINING_DEFAULTS["epochs"], 1, 1_000_000)

        f = QtWidgets.QFormLayout(self)
        f.addRow("Backend", self.backend)
        f.addRow(self.cuda_reason)
        f.addRow("Kernels", self.kernels)
        f.addRow(self.kernels_note)
        f.addRow("Workers", self.workers)
        f.addRow("Batch size", self.batch_size)
        f.addRow("Epochs", self.epochs)
        self._tooltips()

        self.backend.currentTextChanged.connect(lambda v: self._edited("backend", v))
        self.kernels.currentTextChanged.connect(lambda v: self._edited("kernels", v))
        self.workers.sigValueChanged.connect(lambda v: self._edited("workers", v))
        self.batch_size.sigValueChanged.connect(lambda v: self._edited("batch_size", v))
        self.epochs.sigValueChanged.connect(lambda v: self._edited("epochs", v))

    @staticmethod
    def _caption(text: str) -> QtWidgets.QLabel:
        label = QtWidgets.QLabel(text)
        label.setProperty("role", "caption")
        label.setWordWrap(True)
        label.setVisible(bool(text))
        return label

    @staticmethod
    def _kernels_words(installed: bool, words: str) -> str:
        """The caption under the kernels: who decides when this process does, else numba missing."""
        chosen = process_choice()
        if chosen is not None:
            return f"This process uses {chosen} kernels (SIGMA_KERNELS is set), whatever is chosen here"
        if installed:
            return ""
        same = "Without it, compiled trains with numpy's kernels (same results)."
        return f"{words[:1].upper()}{words[1:]}. {same}"

    def show_settings(self, settings) -> None:
        """Fill the fields from a project's ``training`` settings (nothing is emitted)."""
        self._loading = True
        try:
            self.backend.setCurrentText(str(settings.backend).split(":")[0])
            self.kernels.setCurrentText(str(settings.kernels))
            self.workers.set_value(int(settings.workers))
            self.batch_size.set_value(int(settings.batch_size))
            self.epochs.set_value(int(settings.epochs))
        finally:
            self._loading = False

    def fields(self) -> list[IntField]:
        """The typed fields (the panel asks them whether their text was refused)."""
        return [self.workers, self.batch_size, self.epochs]

    def _edited(self, key: str, value) -> None:
        if not self._loading:
            self.sigEdited.emit(key, value)

    def _tooltips(self) -> None:
        self.backend.setToolTip(
            "Where training runs: cpu, cuda (an NVIDIA GPU through CuPy) or auto (CUDA when it works "
            "here, else the CPU)."
        )
        tips = {
            self.workers: "Threads that each compute a share of every batch; the result is the same as one.",
            self.batch_size: "Samples per training step.",
            self.epochs: "Passes over the training data.",
        }
        for field, tip in tips.items():
            field.edit.setToolTip(f"{tip} {field.describe_range()}")
