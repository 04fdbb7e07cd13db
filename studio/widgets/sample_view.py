"""Sample predictions: the original image beside the network's painting and the painting's quality over
time (image tasks such as the cat: PSNR in dB, the figure image people read; other regressions: the
mean squared error), the text a next-character model writes, or a grid of classified samples above
the confusion matrix (classifiers)."""

from __future__ import annotations

import html

import numpy as np
from PySide6 import QtCore, QtWidgets

from studio.pacing import Paced
from studio.widgets.chart import LiveChart
from studio.widgets.confusion import ConfusionMatrixView
from studio.widgets.image_view import ImageView
from studio.widgets.sample_grid import SampleGrid

__all__ = ["SampleView"]

# Short enough for the monitor's side column at 1440 px; the tooltip says how to read it.
_PSNR_TITLE = "Painting quality (PSNR, dB)"
_PSNR_TIP = (
    "Peak signal-to-noise ratio of the painting against the original: higher is sharper; 30 dB looks sharp."
)


class SampleView(QtWidgets.QWidget):
    """Shows the newest :class:`engine.events.SamplePredictions` of a run."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.original = ImageView("Original")
        self.prediction = ImageView("Network's painting")
        pair = QtWidgets.QWidget()
        pair_layout = QtWidgets.QHBoxLayout(pair)
        pair_layout.setContentsMargins(0, 0, 0, 0)
        pair_layout.addWidget(self.original)
        pair_layout.addWidget(self.prediction)
        self.error_chart = LiveChart("Painting error (MSE, lower is better)", "iteration", min_x_span=100)
        self.error_chart.setMinimumHeight(130)
        image_page = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        image_page.addWidget(pair)
        image_page.addWidget(self.error_chart)
        image_page.setStretchFactor(0, 3)
        image_page.setStretchFactor(1, 1)
        self.grid = SampleGrid()
        self.confusion = ConfusionMatrixView()
        classifier_page = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        classifier_page.addWidget(self.grid)
        classifier_page.addWidget(self.confusion)
        classifier_page.setStretchFactor(1, 1)
        self.confusion.setMinimumHeight(170)  # the matrix stays readable; the sample grid gives up rows
        self.text = GeneratedText()
        self.placeholder = QtWidgets.QLabel("Sample predictions appear here once training starts.")
        self.placeholder.setWordWrap(True)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(image_page)
        self.stack.addWidget(classifier_page)
        self.stack.addWidget(self.text)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.last_error: float | None = None
        self.last_psnr: float | None = None
        self._original_shown = False
        self._paced = Paced(self._draw, rate_hz=3.0)  # the newest predictions, 3 times a second at most

    def start_run(self, run) -> None:
        """A new run: keep old error curves for comparison, show the new original again."""
        self.error_chart.set_current_run(run)
        self.text.clear_samples()
        self.last_error = self.last_psnr = None  # the new run's, once it reports them
        self._original_shown = False
        self._paced.drop()

    def show_events(self, events: list, run=None) -> None:
        """Every error value in the batch goes to the chart; the newest predictions are drawn at most
        3 times a second (see studio.pacing; :meth:`flush` draws one held back)."""
        quality = [(e.iteration, e.psnr) for e in events if e.psnr is not None]
        if quality:
            xs, ys = zip(*quality)
            self.error_chart.plot_item.setTitle(_PSNR_TITLE)
            self.error_chart.setToolTip(_PSNR_TIP)
            self.error_chart.append("psnr", xs, ys, run=run, label="PSNR (dB)")
            self.last_psnr = float(ys[-1])
        errors = [(e.iteration, e.error, e.psnr) for e in events if e.error is not None]
        if errors:
            self.last_error = float(errors[-1][1])
        errors = [(x, y) for x, y, psnr in errors if psnr is None]  # images chart their PSNR instead
        if errors:
            xs, ys = zip(*errors)
            self.error_chart.append("error", xs, ys, run=run, label="error")  # drawn by the monitor's timer
        for event in events:  # every generated text is kept, even when epochs end faster than we redraw
            if event.kind == "text":
                self.text.add_sample(event)
        self._paced.push(events[-1])

    def flush(self) -> None:
        """Draw the newest predictions now if they were held back (the run paused, stopped or ended)."""
        self._paced.flush()

    def poll(self) -> None:
        """Draw held-back predictions if their time has come (called on every bridge tick)."""
        self._paced.poll()

    def _draw(self, latest) -> None:
        if latest.kind == "text":
            self.stack.setCurrentWidget(self.text)
            self.text.render()
            return
        if latest.kind == "classification":
            self.stack.setCurrentIndex(2)
            self.grid.set_samples(latest.inputs, latest.predictions, latest.targets, latest.classes)
            return
        self.stack.setCurrentIndex(1)
        if latest.targets is not None and not self._original_shown:
            self.original.set_image(_first_image(latest.targets))
            self._original_shown = True
        # Compact: the caption sits under one of two images in the monitor's side column.
        caption = f"epoch {latest.epoch}"
        if latest.psnr is not None:
            caption += f": PSNR {latest.psnr:.1f} dB"
        elif latest.error is not None:
            caption += f": error {latest.error:.4f}"
        self.prediction.set_image(_first_image(latest.predictions), caption)

    def clear(self) -> None:
        self.stack.setCurrentWidget(self.placeholder)


class GeneratedText(QtWidgets.QTextEdit):
    """Text a next-character model writes during a run: the newest sample first, the few before it
    below in grey, so the page shows the writing improving."""

    KEEP = 4

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setObjectName("generatedText")
        self.samples: list[tuple[int, int, str, str]] = []  # (epoch, iteration, prompt, text), newest first

    def show_sample(self, event) -> None:
        """Keep one generated text and show the list."""
        self.add_sample(event)
        self.render()

    def add_sample(self, event) -> None:
        """Keep one generated text (newest first) without drawing; :meth:`render` shows the list."""
        self.samples.insert(
            0, (event.epoch, event.iteration, str(event.inputs or ""), str(event.predictions))
        )
        del self.samples[self.KEEP :]

    def render(self) -> None:
        """Show the kept texts, newest first."""
        parts = []
        for k, (epoch, iteration, prompt, text) in enumerate(self.samples):
            colour = "#202020" if k == 0 else "#8a8a8a"
            head = "Newest" if k == 0 else "Earlier"
            parts.append(
                f'<p style="color:#555555; font-size:11px; margin:8px 0 2px 0;">{head}: written after '
                f"epoch {epoch}, iteration {iteration} (the prompt in bold)</p>"
                f'<p style="color:{colour}; font-family:monospace; white-space:pre-wrap; margin:0;">'
                f"<b>{html.escape(prompt)}</b>{html.escape(text)}</p>"
            )
        self.setHtml("".join(parts))

    def latest(self) -> str:
        """The newest generated text (without its prompt), or ``""``."""
        return self.samples[0][3] if self.samples else ""

    def clear_samples(self) -> None:
        self.samples.clear()
        self.clear()


def _first_image(array) -> np.ndarray:
    """A batch of images (N, H, W[, C]) gives its first; a single image (or per-pixel list) stays as is."""
    a = np.asarray(array)
    if a.ndim == 4 or (a.ndim == 3 and a.shape[-1] not in (1, 3)):
        return a[0]
    return a
