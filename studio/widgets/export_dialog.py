"""The options of File > Export network to ONNX…: the file, logits or probabilities, check or not."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["ExportDialog"]


class ExportDialog(QtWidgets.QDialog):
    """A non-modal dialog; ``sigExport(path, probabilities, check)`` when the user presses Export.

    Parameters
    ----------
    parent : QWidget
    source : str
        Which network will be exported, as a sentence part ("the current run's network (epoch 3, ...)").
    path : str
        The suggested file.
    has_runtime : bool
        onnxruntime is installed (else the check box is off and says why).
    """

    sigExport = QtCore.Signal(str, bool, bool)

    def __init__(self, parent, source: str, path: str, has_runtime: bool):
        super().__init__(parent)
        self.setWindowTitle("Export network to ONNX")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        what = QtWidgets.QLabel(f"Exports {source} as ONNX (operator set 17), for inference elsewhere.")
        what.setWordWrap(True)
        self.path = QtWidgets.QLineEdit(path)
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        file_row = QtWidgets.QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(browse)
        self.probabilities = QtWidgets.QRadioButton(
            "Probabilities (ends in the loss head's softmax or sigmoid)"
        )
        self.logits = QtWidgets.QRadioButton("Raw outputs (logits; the loss head is dropped)")
        self.probabilities.setChecked(True)
        self.check = QtWidgets.QCheckBox("Check the model in onnxruntime against the engine")
        self.check.setChecked(has_runtime)
        self.check.setEnabled(has_runtime)
        if not has_runtime:
            self.check.setText(self.check.text() + " (needs onnxruntime: pip install onnxruntime)")
        buttons = QtWidgets.QDialogButtonBox()
        self.export_button = buttons.addButton("Export", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._export)
        buttons.rejected.connect(self.reject)
        form = QtWidgets.QFormLayout()
        form.addRow("File:", file_row)
        outputs = QtWidgets.QVBoxLayout()
        outputs.addWidget(self.probabilities)
        outputs.addWidget(self.logits)
        form.addRow("Outputs:", outputs)
        form.addRow("", self.check)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(what)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(560, self.sizeHint().height())

    def _browse(self) -> None:
        dialog = QtWidgets.QFileDialog(self, "Export the network as")
        dialog.setAcceptMode(QtWidgets.QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("ONNX models (*.onnx);;All files (*)")
        dialog.setDefaultSuffix("onnx")
        dialog.selectFile(self.path.text())
        dialog.fileSelected.connect(lambda chosen: self.path.setText(chosen) if chosen else None)
        self.file_dialog = dialog
        dialog.open()

    def _export(self) -> None:
        path = self.path.text().strip()
        if not path:
            self.path.setFocus()
            return
        if not path.lower().endswith(".onnx"):
            path += ".onnx"
        self.accept()
        self.sigExport.emit(path, self.probabilities.isChecked(), self.check.isChecked())
