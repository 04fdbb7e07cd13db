"""What the dataset panel shows of an imported dataset: a preview (image grid with labels, or a table),
statistics (class balance chart, feature ranges) and the report of skipped and bad records."""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

__all__ = [
    "DatasetTabs",
    "PreviewView",
    "StatisticsView",
    "ReportView",
    "looks_like_images",
    "to_qimage",
    "short_path",
]

_MAX_COLUMNS = 24
_MAX_FEATURE_ROWS = 64


def looks_like_images(inputs: np.ndarray | None) -> bool:
    """Records of shape (H, W) or (H, W, 1|3|4) with H, W >= 4."""
    if inputs is None or inputs.ndim not in (3, 4):
        return False
    h, w = inputs.shape[1:3]
    return h >= 4 and w >= 4 and (inputs.ndim == 3 or inputs.shape[3] in (1, 3, 4))


def to_qimage(array: np.ndarray) -> QImage:
    """An (H, W) or (H, W, C) float image scaled to its own range (or [0, 1] when inside it)."""
    a = np.asarray(array, dtype=np.float32)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
    if lo < 0.0 or hi > 1.0:
        a = (a - lo) / (hi - lo if hi > lo else 1.0)
    u8 = np.ascontiguousarray(np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8))
    h, w = u8.shape[:2]
    if u8.ndim == 2:
        img = QImage(u8.data, w, h, w, QImage.Format.Format_Grayscale8)
    elif u8.shape[2] == 3:
        img = QImage(u8.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    else:
        img = QImage(u8.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
    return img.copy()  # own the pixels: the numpy buffer goes away


def _label(targets, i, classes) -> str:
    if targets is None:
        return ""
    t = np.asarray(targets[i])
    if classes is not None and t.ndim == 0:
        return classes[int(t)]
    if t.size == 1:
        return f"{float(t.ravel()[0]):.3g}"
    return f"{t.shape}"


class PreviewView(QStackedWidget):
    """First records: thumbnails with their class for images, otherwise a table of values."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(64, 64))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setSpacing(6)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.empty = QLabel(
            "No dataset yet.\nDrop image folders, CSV files or archives anywhere on this panel."
        )
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.addWidget(self.empty)
        self.addWidget(self.grid)
        self.addWidget(self.table)
        self.mode = "empty"

    def clear(self) -> None:
        self.grid.clear()
        self.table.clear()
        self.setCurrentWidget(self.empty)
        self.mode = "empty"

    def show_preview(self, preview: dict, dataset) -> None:
        inputs, targets = preview.get("inputs"), preview.get("targets")
        classes = dataset.classes
        if preview.get("image") is not None:
            self.grid.clear()
            self.grid.setIconSize(QSize(192, 192))
            item = QListWidgetItem(
                QIcon(QPixmap.fromImage(to_qimage(preview["image"]))), "the whole target image"
            )
            self.grid.addItem(item)
            self.setCurrentWidget(self.grid)
            self.mode = "image"
        elif looks_like_images(inputs):
            self.grid.clear()
            self.grid.setIconSize(QSize(64, 64))
            for i in range(len(inputs)):
                pixmap = QPixmap.fromImage(to_qimage(inputs[i])).scaled(
                    64, 64, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
                )
                self.grid.addItem(QListWidgetItem(QIcon(pixmap), _label(targets, i, classes)))
            self.setCurrentWidget(self.grid)
            self.mode = "images"
        else:
            self._fill_table(inputs, targets, dataset)
            self.setCurrentWidget(self.table)
            self.mode = "table"

    def _fill_table(self, inputs, targets, dataset) -> None:
        flat = np.asarray(inputs).reshape(len(inputs), -1) if inputs is not None else np.zeros((0, 0))
        names = list((dataset.meta.get("columns") or {}).get("inputs") or [])
        width = min(flat.shape[1], _MAX_COLUMNS)
        if len(names) != flat.shape[1]:
            names = [f"x{j}" for j in range(flat.shape[1])]
        target_names = (dataset.meta.get("columns") or {}).get("targets") or ["target"]
        headers = (
            names[:width]
            + (["…"] if flat.shape[1] > width else [])
            + ([", ".join(target_names)] if targets is not None else [])
        )
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setRowCount(len(flat))
        self.table.setHorizontalHeaderLabels(headers)
        for i in range(len(flat)):
            for j in range(width):
                self.table.setItem(i, j, QTableWidgetItem(f"{flat[i, j]:.4g}"))
            if targets is not None:
                self.table.setItem(i, len(headers) - 1, QTableWidgetItem(_label(targets, i, dataset.classes)))


class StatisticsView(QWidget):
    """Class balance (bar chart) and feature ranges (overall and per feature)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.chart = pg.PlotWidget()
        self.chart.setBackground("w")
        self.chart.setMinimumHeight(160)
        self.chart.setLabel("left", "records")
        self.chart.setTitle("Class balance")
        self.chart.setMouseEnabled(x=False, y=False)
        self.bars = None
        self.features = QTableWidget(0, 3)
        self.features.setHorizontalHeaderLabels(["Feature", "Mean", "Std"])
        self.features.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.features.verticalHeader().setVisible(False)
        self.features.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.features_title = QLabel("")
        self.mean_image, self.std_image = QLabel(), QLabel()
        images = QHBoxLayout()
        for caption, label in (
            ("mean of each pixel", self.mean_image),
            ("spread (std) of each pixel", self.std_image),
        ):
            box = QVBoxLayout()
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box.addWidget(label)
            text = QLabel(caption)
            text.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box.addWidget(text)
            images.addLayout(box)
        images.addStretch(1)
        self.images_host = QWidget()
        self.images_host.setLayout(images)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.chart, 2)
        layout.addWidget(self.features_title)
        layout.addWidget(self.features, 1)
        layout.addWidget(self.images_host, 1)
        self.class_counts: dict | None = None

    def show_statistics(self, stats: dict, dataset) -> None:
        counts = stats.get("class_counts")
        self.class_counts = counts
        if self.bars is not None:
            self.chart.removeItem(self.bars)
            self.bars = None
        if counts:
            values = list(counts.values())
            self.bars = pg.BarGraphItem(x=np.arange(len(values)), height=values, width=0.7, brush="#0072B2")
            self.chart.addItem(self.bars)
            ticks = [
                (i, name if len(counts) <= 20 or i % max(1, len(counts) // 20) == 0 else "")
                for i, name in enumerate(counts)
            ]
            self.chart.getAxis("bottom").setTicks([ticks])
            self.chart.setTitle("Class balance (records per class)")
            self.chart.show()
        else:
            self.chart.setTitle("No classes (regression or unlabelled data)")
            self.chart.getAxis("bottom").setTicks(None)
        sections = "; ".join(_describe_section(k, v, dataset) for k, v in stats.get("sections", {}).items())
        rng = ""
        if "min" in stats:
            rng = (
                f"<br>input values from {stats['min']:.4g} to {stats['max']:.4g} "
                f"(mean {stats['mean']:.4g}, std {stats['std']:.4g})"
            )
        sizes = stats.get("image_sizes")
        size_text = ""
        if sizes:
            shown = ", ".join(f"{k} ({v} images)" for k, v in list(sizes.items())[:6])
            size_text = f"<br>original image sizes: {shown}"
        balance = ""
        if counts and min(counts.values()) > 0:
            ratio = max(counts.values()) / min(counts.values())
            balance = f"<br>largest class is {ratio:.2f}× the smallest" + (
                " (imbalanced)" if ratio > 3 else ""
            )
        self.summary.setText(
            f"<b>{stats.get('n_records', 0):,}</b> records · {sections}{rng}{size_text}{balance}"
        )
        mean, std = stats.get("feature_mean") or [], stats.get("feature_std") or []
        shape = tuple((stats.get("sections", {}).get("inputs") or {}).get("shape") or ())
        as_images = (
            len(shape) in (2, 3) and min(shape[:2]) >= 4 and (len(shape) == 2 or shape[2] in (1, 3, 4))
        )
        self.features.setVisible(not as_images)
        self.images_host.setVisible(as_images)
        if as_images and mean:
            self.features_title.setText("Per-pixel statistics over all records")
            for label, values in ((self.mean_image, mean), (self.std_image, std)):
                image = to_qimage(np.asarray(values, dtype=np.float32).reshape(shape))
                pixmap = QPixmap.fromImage(image).scaled(
                    128, 128, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
                )
                label.setPixmap(pixmap)
            return
        self.features_title.setText("Feature ranges: mean and spread (std) of each input column")
        names = list((dataset.meta.get("columns") or {}).get("inputs") or [])
        if len(names) != len(mean):
            names = [f"x{j}" for j in range(len(mean))]
        rows = min(len(mean), _MAX_FEATURE_ROWS)
        self.features.setRowCount(rows)
        for j in range(rows):
            for col, text in enumerate((names[j], f"{mean[j]:.4g}", f"{std[j]:.4g}")):
                self.features.setItem(j, col, QTableWidgetItem(text))


def _describe_section(name: str, info: dict, dataset) -> str:
    shape = tuple(info.get("shape") or ())
    if name == "targets" and shape == ():
        return "targets: one class per record" if dataset.classes else "targets: one value per record"
    return f"{name} {shape} {info.get('dtype')}"


def short_path(path, source) -> str:
    """``path`` relative to the folder the source lives in (what the user dropped), else as given."""
    if path is None:
        return "?"
    first = source[0] if isinstance(source, (list, tuple)) and source else source
    if not isinstance(first, str) or first.startswith("sample:"):
        return os.fspath(path)
    base = os.path.dirname(os.path.abspath(first))
    try:
        rel = os.path.relpath(os.path.abspath(path), base)
    except ValueError:  # another drive on Windows
        return os.fspath(path)
    return os.fspath(path) if rel.startswith("..") else rel


class ReportView(QTableWidget):
    """Every record skipped and every warning of the last import: what, where (file, row), why."""

    def __init__(self, parent=None):
        super().__init__(0, 4, parent)
        self.setHorizontalHeaderLabels(["", "File", "Row", "Reason"])
        header = self.horizontalHeader()
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)

    def show_report(self, records, source=None) -> None:
        self.setRowCount(len(records))
        for i, rec in enumerate(records):
            where = short_path(rec.file, source) if rec.file else ""
            cells = (rec.action, where, "" if rec.row is None else str(rec.row), rec.reason)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if rec.action == "skipped":
                    item.setForeground(QColor("#c62828"))
                item.setToolTip(str(rec))
                self.setItem(i, j, item)
        for column in (0, 1, 2):
            self.resizeColumnToContents(column)


class DatasetTabs(QTabWidget):
    """The preview, statistics and report of the imported dataset, one tab each; the Preview and Report
    titles count what they hold."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.preview = PreviewView()
        self.stats_view = StatisticsView()
        self.report_view = ReportView()
        self.addTab(self.preview, "Preview")
        self.addTab(self.stats_view, "Statistics")
        self.addTab(self.report_view, "Report")

    def show_result(self, result) -> None:
        """Show a finished import (a ``dataset_import.ImportResult``)."""
        ds = result.dataset
        self.preview.show_preview(result.preview, ds)
        self.stats_view.show_statistics(result.statistics, ds)
        self.report_view.show_report(ds.report, result.source)
        self.setTabText(2, f"Report ({len(ds.report)})" if ds.report else "Report")
        shown = len(result.preview.get("indices", ()))
        self.setTabText(0, f"Preview ({shown} of {len(ds):,})" if 0 < shown < len(ds) else "Preview")

    def show_nothing(self) -> None:
        """No dataset loaded: an empty preview and report."""
        self.preview.clear()
        self.report_view.show_report([])
        self.setTabText(2, "Report")
