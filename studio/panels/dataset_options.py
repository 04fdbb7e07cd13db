"""The dataset panel's choices: how files are imported, and how the records are split and
preprocessed for training (what ``project.dataset`` stores besides the source)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QLabel,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

__all__ = ["ImportOptions", "SplitOptions", "OptionsColumn", "OptionsBeside"]

_IMAGE_SIZES = {
    "as found": None,
    "28 × 28": [28, 28],
    "32 × 32": [32, 32],
    "64 × 64": [64, 64],
    "128 × 128": [128, 128],
}
_NORMALISE = {"none": None, "min-max to [0, 1]": "minmax", "mean 0, std 1": "standard"}
_AUGMENT = ("flip", "rotate", "noise", "random_crop")


class ImportOptions(QGroupBox):
    """Image size, colour, and whether bad records are skipped (and reported) or stop the import."""

    def __init__(self, parent=None):
        super().__init__("Import options", parent)
        self.image_size = QComboBox()
        self.image_size.addItems(list(_IMAGE_SIZES))
        self.color = QComboBox()
        self.color.addItems(["auto", "grayscale", "rgb"])
        self.skip_bad = QCheckBox("Skip bad records (listed in the Report)")
        self.skip_bad.setChecked(True)
        self.channels_first = QCheckBox("Images channels first (C, H, W)")
        self.channels_first.setToolTip("Convolution layers read images as (channels, height, width)")
        self.channels_first.setChecked(True)
        self.image_size.setToolTip("Images are resized to this; 'as found' keeps the most common size")
        self.color.setToolTip(
            "Colour of the imported images: auto keeps what most files have; grayscale has 1 channel, rgb 3."
        )
        self.skip_bad.setToolTip(
            "Leave out records that cannot be read and list them in the Report tab (off: the import stops)."
        )
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("Image size", self.image_size)
        form.addRow("Colour", self.color)
        form.addRow(self.skip_bad)
        form.addRow(self.channels_first)

    def layout(self, images: bool) -> str | None:
        """The project's ``options.layout`` for a dataset: ``"image"`` (channels first) or ``None``."""
        return "image" if images and self.channels_first.isChecked() else None

    def options(self) -> dict:
        """Keyword options for ``engine.data.load``."""
        return {
            "image_size": _IMAGE_SIZES[self.image_size.currentText()],
            "color": self.color.currentText(),
            "on_error": "skip" if self.skip_bad.isChecked() else "raise",
        }


class SplitOptions(QGroupBox):
    """Validation and test fractions, input normalisation, training augmentations.

    Signals
    -------
    sigChanged()
        The user changed a choice.
    """

    sigChanged = Signal()

    def __init__(self, parent=None):
        super().__init__("Split and preprocessing", parent)
        self.validation_split = QDoubleSpinBox(suffix=" %", decimals=0, minimum=0, maximum=90, singleStep=5)
        self.validation_split.setValue(10)
        self.test_split = QDoubleSpinBox(suffix=" %", decimals=0, minimum=0, maximum=90, singleStep=5)
        self.normalise = QComboBox()
        self.normalise.addItems(list(_NORMALISE))
        self.augment = {name: QCheckBox(name.replace("_", " ")) for name in _AUGMENT}
        self.note = QLabel("")
        self.validation_split.setToolTip(
            "Share of the records held out to measure the network while it trains, 0 to 90 %."
        )
        self.test_split.setToolTip("Share of the records kept for a final test after training, 0 to 90 %.")
        self.normalise.setToolTip(
            "Rescale every input feature: to [0, 1] (min-max) or to mean 0 and standard deviation 1."
        )
        tips = {
            "flip": "Mirror training images left-right at random.",
            "rotate": "Rotate training images by a small random angle.",
            "noise": "Add a little random noise to the training inputs.",
            "random_crop": "Crop training images at a random place and scale them back.",
        }
        for name, box in self.augment.items():
            box.setToolTip(tips[name] + " Training records only; new each epoch.")
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("Validation", self.validation_split)
        form.addRow("Test", self.test_split)
        form.addRow("Normalise", self.normalise)
        boxes = QGridLayout()
        for i, box in enumerate(self.augment.values()):
            boxes.addWidget(box, i // 2, i % 2)
        form.addRow("Augment", boxes)
        self.augment_note = QLabel("(training records only)")
        form.addRow("", self.augment_note)
        self.note.setWordWrap(True)
        form.addRow(self.note)
        self._loading = False
        for spin in (self.validation_split, self.test_split):
            spin.valueChanged.connect(self._changed)
        self.normalise.currentIndexChanged.connect(self._changed)
        for box in self.augment.values():
            box.toggled.connect(self._changed)

    def _changed(self, *_args) -> None:
        if not self._loading:
            self.sigChanged.emit()

    def held_out_percent(self) -> float:
        return self.validation_split.value() + self.test_split.value()

    def settings(self) -> dict:
        """The choices as ``project.dataset`` stores them (fractions, not percentages)."""
        return {
            "validation_split": self.validation_split.value() / 100.0,
            "test_split": self.test_split.value() / 100.0,
            "normalise": _NORMALISE[self.normalise.currentText()],
            "augment": [name for name, box in self.augment.items() if box.isChecked()],
        }

    def set_settings(self, ref: dict) -> None:
        """Show a project's choices without signalling a change."""
        self._loading = True
        try:
            self.validation_split.setValue(100 * float(ref.get("validation_split", 0.1) or 0))
            self.test_split.setValue(100 * float(ref.get("test_split", 0.0) or 0))
            inverse = {v: k for k, v in _NORMALISE.items()}
            self.normalise.setCurrentText(inverse.get(ref.get("normalise"), "none"))
            for name, box in self.augment.items():
                box.setChecked(name in (ref.get("augment") or []))
        finally:
            self._loading = False

    def show_counts(self, n: int | None) -> None:
        """Say how many records each part gets (``None``: no dataset yet)."""
        if n is None:
            self.note.setText("")
            return
        val = round(n * self.validation_split.value() / 100)
        test = round(n * self.test_split.value() / 100)
        self.note.setText(f"{n - val - test:,} training · {val:,} validation · {test:,} test records")


class OptionsColumn(QScrollArea):
    """``boxes`` one under the other; they scroll rather than widen the panel (in the main window the
    dataset panel shares a dock column)."""

    def __init__(self, *boxes, parent=None):
        super().__init__(parent)
        side_widget = QWidget()
        side = QVBoxLayout(side_widget)
        side.setContentsMargins(0, 0, 0, 0)
        for box in boxes:
            side.addWidget(box)
        side.addStretch(1)
        self.setWidget(side_widget)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumSize(240, 120)


class OptionsBeside(QSplitter):
    """``main`` (the dataset's tabs) with the options column (:class:`OptionsColumn` of ``boxes``) beside
    it when there is room, or under it in a narrow dock column (see :meth:`fit`)."""

    def __init__(self, main, *boxes, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.addWidget(main)
        self.addWidget(OptionsColumn(*boxes))
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 1)
        self.setChildrenCollapsible(False)
        main.setMinimumWidth(200)
        self._orientation = None

    def fit(self, size) -> None:
        """Side by side in a panel of ``size`` (a QSize) at least 760 px wide, else stacked; the two get
        their shares when the orientation changes (the first layout, or the dock column got narrow/wide)."""
        wanted = Qt.Orientation.Horizontal if size.width() >= 760 else Qt.Orientation.Vertical
        if self._orientation != wanted:
            self._orientation = wanted
            self.setOrientation(wanted)
            length = size.height() if wanted == Qt.Orientation.Vertical else size.width()
            share = 0.6 if wanted == Qt.Orientation.Vertical else 0.68
            self.setSizes([int(length * share), int(length * (1 - share))])
