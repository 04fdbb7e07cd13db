"""The dataset panel: drop files, folders or archives (or use Import…), watch the import run in the
background with progress and cancel, then look at a preview, statistics and the report of skipped
records; choose the split and preprocessing. The dataset reference it writes is ``project.dataset``.

Messages go to an in-panel banner (never a blocking dialog), so tests and users read them alike.
"""

from __future__ import annotations

import copy
import os

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QVBoxLayout, QWidget

from studio.widgets.banner import Banner

from .dataset_import import ImportJob
from .dataset_import_bar import ImportBar, local_paths
from .dataset_options import ImportOptions, OptionsBeside, SplitOptions
from .dataset_summary import describe, failure_text, import_message, network_shape, summary_text
from .dataset_views import DatasetTabs, looks_like_images

__all__ = ["DatasetPanel"]


class DatasetPanel(QWidget):
    """Import and inspect the project's dataset.

    Parameters
    ----------
    window : MainWindow or None
        Supplies ``project`` (``project.dataset`` is written here) and ``sigProjectChanged``.

    Attributes
    ----------
    dataset : engine.data.Dataset or None
        The last dataset imported successfully.
    statistics : dict or None
    messages : list of (level, text)
        Every message shown, newest last (the banner shows the newest).

    Signals
    -------
    sigImported(object)
        A dataset finished importing (the Dataset).
    sigImportFailed(str)
        An import failed; the message.
    """

    sigImported = Signal(object)
    sigImportFailed = Signal(str)

    def __init__(self, window=None, parent=None):
        super().__init__(parent)
        self.setObjectName("datasetPanel")
        self.setAcceptDrops(True)
        self._window = window
        self.dataset = None
        self.preview_inputs = None
        self.statistics = None
        self.source = None
        self.messages: list[tuple[str, str]] = []
        self.job: ImportJob | None = None
        self._auto_loaded = False
        self._dialog = None

        self.banner = Banner()
        self.import_bar = ImportBar()
        # Short names for the bar's widgets (tests and the screenshot script use them).
        bar = self.import_bar
        self.drop_hint, self.import_files_button, self.import_folder_button = (
            bar.drop_hint,
            bar.import_files_button,
            bar.import_folder_button,
        )
        self.progress, self.progress_label, self.cancel_button = (
            bar.progress,
            bar.progress_label,
            bar.cancel_button,
        )
        self.summary = QLabel("No dataset imported yet.")
        self.summary.setWordWrap(True)

        self.import_box = ImportOptions()
        self.split_box = SplitOptions()
        # Short names for the controls (tests and the screenshot script use them).
        self.image_size, self.color, self.skip_bad = (
            self.import_box.image_size,
            self.import_box.color,
            self.import_box.skip_bad,
        )
        self.validation_split, self.test_split = self.split_box.validation_split, self.split_box.test_split
        self.normalise, self.augment, self.split_note = (
            self.split_box.normalise,
            self.split_box.augment,
            self.split_box.note,
        )

        self.tabs = DatasetTabs()
        self.preview, self.stats_view, self.report_view = (
            self.tabs.preview,
            self.tabs.stats_view,
            self.tabs.report_view,
        )
        self._build_layout()
        self._set_busy(False)

        self.import_files_button.clicked.connect(self.open_import_dialog)
        self.import_folder_button.clicked.connect(lambda: self.open_import_dialog(folder=True))
        self.cancel_button.clicked.connect(self.cancel_import)
        self.summary.linkActivated.connect(lambda _link: self.reload())
        self.split_box.sigChanged.connect(self._on_settings_changed)
        if window is not None:
            window.sigProjectChanged.connect(self.load_project)
            window.installEventFilter(self)  # closing the window cancels a running import
            if window.project is not None:
                self.load_project(window.project)

    def _build_layout(self) -> None:
        self.body = OptionsBeside(self.tabs, self.import_box, self.split_box)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.import_bar)
        layout.addWidget(self.summary)
        layout.addWidget(self.body, 1)

    def showEvent(self, event):
        # The first time the panel is seen with a project dataset not yet loaded, preview it.
        super().showEvent(event)
        if self.dataset is None and self.job is None and self.source and not self._auto_loaded:
            self._auto_loaded = True
            self.reload()

    def resizeEvent(self, event):
        # Side by side when there is room; options under the preview in a narrow dock column.
        self.body.fit(event.size())
        super().resizeEvent(event)

    # ---------------------------------------------------------------- messages
    def show_message(self, text: str, level: str = "error") -> None:
        """Show a message in the panel's banner (and keep it in :attr:`messages`)."""
        self.messages.append((level, text))
        self.banner.show_message(text, level)

    # ---------------------------------------------------------------- drag and drop
    def dragEnterEvent(self, event):
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
            self.import_bar.highlight(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event):
        self.import_bar.highlight(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event):
        self.import_bar.highlight(False)
        paths = local_paths(event.mimeData())
        if not paths:
            self.show_message("Only files and folders on this computer can be imported.")
            event.ignore()
            return
        event.acceptProposedAction()
        self.import_paths(paths)

    # ---------------------------------------------------------------- importing
    def open_import_dialog(self, folder: bool = False) -> QFileDialog:
        """A non-modal file dialog (``open()``): its choice is imported when accepted."""
        dialog = QFileDialog(self, "Import a folder" if folder else "Import data files")
        dialog.setFileMode(QFileDialog.FileMode.Directory if folder else QFileDialog.FileMode.ExistingFiles)
        dialog.filesSelected.connect(lambda files: self.import_paths(list(files)))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._dialog = dialog
        dialog.open()
        return dialog

    def import_options(self) -> dict:
        """Options for ``engine.data.load`` from the panel's controls."""
        return self.import_box.options()

    def import_paths(self, paths) -> bool:
        """Start importing ``paths`` (files, folders, archives) in the background.

        Returns
        -------
        bool
            False when nothing was started (a message says why).
        """
        if self.job is not None:
            self.show_message("An import is already running: wait for it or press Cancel first.")
            return False
        paths = [os.fspath(p) for p in paths]
        missing = [p for p in paths if not os.path.exists(p)]
        if not paths or missing:
            self.show_message(f"Nothing to import: {', '.join(missing) or 'no files given'} not found.")
            return False
        source = paths[0] if len(paths) == 1 else paths
        project = getattr(self._window, "project", None)
        if project is not None and project.task == "image" and isinstance(source, str):
            from engine.data.readers.images import is_image_file

            if is_image_file(source):
                return self._paint(source, project)
        return self._start(source, self.import_options())

    def _paint(self, path: str, project) -> bool:
        """A picture dropped on a paint project (an image task) becomes the picture to paint: its pixels
        are the records, read the way training reads them (``engine.run.load_project_data``)."""
        painted = copy.deepcopy(project)
        painted.dataset = {"source": path, "options": {}, "validation_split": 0.0}
        started = self._start(path, {}, painted)
        if started:
            self.job.paint = True  # unlike a project reload, the finished import becomes the reference
        return started

    def import_source(self, source, options: dict | None = None, project=None) -> bool:
        """Import ``source`` (``"sample:cat"``, a path or a list of paths) in the background; with
        ``project``, its dataset reference as training reads it (the reference is left as it is)."""
        if self.job is not None:
            self.show_message("An import is already running: wait for it or press Cancel first.")
            return False
        return self._start(source, options if options is not None else self.import_options(), project)

    def _start(self, source, options, project=None) -> bool:
        job = ImportJob(source, options, project)
        self.job = job

        def current(handler):  # results of a job dropped by a project change are ignored
            return lambda *args: handler(*args) if job is self.job else None

        job.signals.sigProgress.connect(current(self._on_progress))
        job.signals.sigFinished.connect(current(self._on_finished))
        job.signals.sigFailed.connect(current(self._on_failed))
        job.signals.sigCancelled.connect(current(self._on_cancelled))
        self._set_busy(True, f"Importing {describe(source)}…")
        self.job.start()
        return True

    def cancel_import(self) -> None:
        """Ask the running import to stop; the previous dataset stays."""
        if self.job is not None:
            self.job.cancel()
            self.progress_label.setText("Cancelling…")

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel a running import and wait for its thread (when the window closes)."""
        job = self.job
        if job is not None:
            job.cancel()
            job.wait(timeout)

    def eventFilter(self, obj, event) -> bool:
        if obj is self._window and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self.import_bar.set_busy(busy, text)

    def _on_progress(self, done: int, total: int, path: str) -> None:
        self.import_bar.show_progress(done, total, path)

    def _on_finished(self, result) -> None:
        paint = self.job is not None and self.job.paint
        from_project = self.job is not None and self.job.project is not None and not paint
        self.job = None
        self._set_busy(False)
        ds = result.dataset
        self.dataset, self.statistics, self.source = ds, result.statistics, result.source
        self.preview_inputs = result.preview.get("inputs")
        self.tabs.show_result(result)
        if not from_project:  # a reload shows the project's reference; it does not rewrite it
            self._write_project(result.source, result.options, ds)
        if paint and getattr(self._window, "project", None) is not None:
            self._window.project.dataset["validation_split"] = 0.0  # every pixel is part of the picture
            h, w, _ = ds.meta["image_shape"]
            self.show_message(
                f"Painting {os.path.basename(result.source)} ({w}x{h} pixels) from now on: press Start.",
                "info",
            )
        self._update_summary()
        message = import_message(ds, result.source)
        if message is not None:
            self.show_message(*message)
        elif self.banner.level == "error":
            self.banner.dismiss()
        self.sigImported.emit(ds)

    def _on_failed(self, exc) -> None:
        self.job = None
        self._set_busy(False)
        text = failure_text(exc)
        kept = " The current dataset is unchanged." if self.dataset is not None else ""
        self.show_message(text + kept, "error")
        self.sigImportFailed.emit(text)

    def _on_cancelled(self) -> None:
        self.job = None
        self._set_busy(False)
        self.show_message("Import cancelled; nothing was changed.", "info")
        self.sigImportFailed.emit("cancelled")

    def _update_summary(self) -> None:
        ds = self.dataset
        if ds is None:
            self.summary.setText("No dataset imported yet.")
            return
        self.summary.setText(summary_text(ds, self.source, self.network_input_shape()))
        self._update_split_note()

    def _update_split_note(self) -> None:
        self.split_box.show_counts(len(self.dataset) if self.dataset is not None else None)

    # ---------------------------------------------------------------- the project's dataset reference
    def settings(self) -> dict:
        """Split and preprocessing choices as stored in ``project.dataset``."""
        return self.split_box.settings()

    def _on_settings_changed(self) -> None:
        total = self.split_box.held_out_percent()
        if total >= 100:
            self.show_message(
                f"Validation and test take {total:.0f}% of the records: leave some for training."
            )
            return
        self._update_split_note()
        project = getattr(self._window, "project", None)
        if project is not None and project.dataset:
            project.dataset.update(self.settings())

    def _write_project(self, source, options, dataset) -> None:
        project = getattr(self._window, "project", None)
        if project is None:
            return
        options = {k: v for k, v in options.items() if v is not None}
        layout = self.import_box.layout(looks_like_images(self.preview_inputs))
        if layout:
            options["layout"] = layout
        ref = {"source": source, "options": options}
        ref.update(self.settings())
        project.dataset = ref

    def network_input_shape(self) -> tuple | None:
        """The record shape the network will see (after the project's layout), or ``None``."""
        if self.dataset is None or "inputs" not in self.dataset:
            return None
        shape = tuple(int(d) for d in self.dataset.shape_of("inputs"))
        project = getattr(self._window, "project", None)
        layout = (((getattr(project, "dataset", None) or {}).get("options")) or {}).get("layout")
        return network_shape(shape, layout)

    def load_project(self, project) -> None:
        """Show a project's dataset settings (the data itself is imported on demand, see :meth:`reload`)."""
        ref = copy.deepcopy(getattr(project, "dataset", None) or {})
        if self.job is not None:  # an import for the previous project: stop it, forget its result
            self.job.cancel()
            self.job = None
            self._set_busy(False)
        self.split_box.set_settings(ref)
        self.dataset, self.statistics, self.source = None, None, ref.get("source")
        self._auto_loaded = False
        self.tabs.show_nothing()
        if self.source:
            self.summary.setText(
                f"Dataset: {describe(self.source)} (not loaded yet: <a href='reload'>load a preview</a>)"
            )
        else:
            self.summary.setText("No dataset yet: drop files or folders here.")
        if self.isVisible() and self.source:
            self._auto_loaded = True
            self.reload()

    def reload(self) -> bool:
        """Import the project's dataset reference again (preview, statistics, report)."""
        project = getattr(self._window, "project", None)
        ref = getattr(project, "dataset", None) or {}
        if not ref.get("source"):
            return False
        return self.import_source(ref["source"], dict(ref.get("options") or {}), project=project)
