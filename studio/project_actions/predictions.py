"""Training > Predict on files… (``actions.predictions``).

The dialog (:class:`~studio.widgets.predict_dialog.PredictDialog`) collects files (picker or drop); each
time its list changes, or on Predict again, every file is predicted on the pool with the trained network
(:class:`~.trained.NetworkJob`), reading files as ``sigma predict`` does (:mod:`engine.predict`). Unlike
the CLI, which stops at the first bad file, a bad file is skipped and named (with its row) while the
others still predict: in a window the user can see which rows are there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject

from .trained import NetworkJob

__all__ = ["PredictionCommands", "PredictJob", "PredictionResult", "THUMBNAIL_SIZE"]

THUMBNAIL_SIZE = 40


@dataclass
class PredictionResult:
    """What a prediction job hands the dialog."""

    table: object  # engine.predict.Predictions
    problems: list  # engine.predict.PredictInputError, one per skipped file
    source: str
    thumbnails: dict = field(default_factory=dict)  # image path -> QImage (made on the pool)
    notes: list = field(default_factory=list)  # how files differ from the training data, conversions


class PredictJob(NetworkJob):
    """Reads the files (bad ones skipped) and predicts on the good ones."""

    def __init__(self, source, files: list[str]):
        super().__init__(source)
        self.files = list(files)

    def work(self, network, classes) -> PredictionResult:  # pool thread
        from engine import predict

        _name, shape, integer = predict.network_input(network)
        notes: list[str] = []
        inputs, origins, problems = predict.read_files(
            self.files, shape, integer=integer, summary=self.input_summary, notes=notes
        )
        table = predict.predictions(network, inputs, origins, classes=classes)
        thumbnails = _thumbnails(table, problems)
        return PredictionResult(table, problems, self.source.description, thumbnails, notes)


def _thumbnails(table, problems) -> dict:
    """Small images of the image files that predicted (QImage may be made off the GUI thread)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    from engine.predict import IMAGE_SUFFIXES

    thumbs = {}
    for path, _sample in table.origins:
        if path in thumbs or not path.lower().endswith(IMAGE_SUFFIXES):
            continue
        image = QImage(path)
        if not image.isNull():
            # Tiny images (8x8 digits) are magnified without smoothing, so their pixels stay visible.
            mode = Qt.TransformationMode.FastTransformation
            if max(image.width(), image.height()) > THUMBNAIL_SIZE:
                mode = Qt.TransformationMode.SmoothTransformation
            thumbs[path] = image.scaled(
                THUMBNAIL_SIZE, THUMBNAIL_SIZE, Qt.AspectRatioMode.KeepAspectRatio, mode
            )
    return thumbs


class PredictionCommands(QObject):
    """Training > Predict on files…"""

    def __init__(self, actions):
        super().__init__(actions)
        self.actions = actions
        self.window = actions.window
        self.dialog = None  # the prediction dialog, once opened

    def predict_on_files(self, files=None) -> bool:
        """Open the prediction dialog; with ``files``, add them and predict at once.

        Returns whether a prediction was started (results arrive in the dialog and as
        ``sigPredicted(result)``).
        """
        dialog = self._prediction_dialog()
        dialog.show()
        dialog.raise_()
        if files and dialog.add_files(files, predict=False):
            return self._predict(list(dialog.files))
        return False

    def _prediction_dialog(self):
        from studio.widgets.predict_dialog import PredictDialog

        dialog = self.dialog
        if dialog is None:
            dialog = PredictDialog(self.window)
            dialog.sigPredict.connect(self._predict)
            self.dialog = dialog
        return dialog

    def _predict(self, files: list) -> bool:
        dialog = self.dialog
        messages = self.actions.messages
        source = self.actions.networks.network_source()
        if source is None:
            dialog.show_problem(messages[-1][1] if messages else "No trained network.")
            return False
        job = PredictJob(source, files)
        job.signals.sigDone.connect(self._on_predicted)
        job.signals.sigFailed.connect(self._on_predict_failed)
        dialog.show_busy(f"Predicting {len(files)} file(s) with {source.description}…")
        self.actions.networks.run(job)
        return True

    def _on_predicted(self, job: PredictJob, result: PredictionResult) -> None:
        dialog = self.dialog
        if dialog is not None:
            dialog.show_result(result)
        if result.notes:
            self.actions.message(
                "Some files differ from the training data: " + "; ".join(result.notes), "warning"
            )
        if result.problems:
            skipped = "; ".join(str(p) for p in result.problems)
            self.actions.message(
                f"Predicted {len(result.table)} sample(s); skipped {len(result.problems)} file(s): {skipped}",
                "error",
            )
        self.actions.sigPredicted.emit(result)

    def _on_predict_failed(self, job: PredictJob, text: str) -> None:
        dialog = self.dialog
        if dialog is not None:
            dialog.show_problem(f"Could not predict: {text}")
        self.actions.message(f"Could not predict: {text}", "error")
        self.actions.sigPredictFailed.emit(text)
