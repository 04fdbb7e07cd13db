"""The sample-prediction streamer: a small fixed set of inputs with targets and predictions."""

from __future__ import annotations

import numpy as np

from ..events import SamplePredictions
from .base import PacedHook
from .timestep import TimeStep

__all__ = ["SamplePredictionStreamer", "psnr_db"]

#: A perfect copy has infinite PSNR; events carry finite numbers, so it reads as this ceiling.
_PSNR_CEILING = 100.0

_KINDS = ("classification", "image", "regression")


class SamplePredictionStreamer(PacedHook):
    """Emit :class:`~engine.events.SamplePredictions` for a fixed set of inputs (host copies).

    Parameters
    ----------
    inputs : array (N, ...)
        For ``kind="image"``, every input that makes up the image (e.g. all pixel coordinates (H*W, 2)
        for the cat painter): the predictions are reshaped to ``image_shape``.
    targets : array, optional
    kind : str
        ``"classification"`` (predictions are class probabilities (N, classes)), ``"image"`` or
        ``"regression"``.
    image_shape : tuple, optional
        For ``"image"``, e.g. ``(H, W, 3)``; predictions are clipped to [0, 1].
    classes : sequence of str, optional

    min_interval_s : float, optional
        A due run closer than that to the last one is held back (the newest held back is made when the
        run pauses or ends; see :class:`~engine.hooks.base.PacedHook`). Not for an image on an epoch
        time step, whose PSNR joins every epoch's record.

    Notes
    -----
    For ``kind="image"`` the event carries the picture's PSNR (:func:`psnr_db`); on an epoch time step
    it is also added to the epoch's record as ``psnr`` (dB).
    """

    default_timestep = TimeStep(1, "epoch")

    def __init__(
        self,
        inputs,
        targets=None,
        kind: str = "classification",
        image_shape=None,
        classes=None,
        timestep: TimeStep | None = None,
        min_interval_s: float | None = None,
        **kwargs,
    ):
        super().__init__(timestep, min_interval_s, **kwargs)
        if kind not in _KINDS:
            raise ValueError(f"Invalid value for `kind`. Expected one of {_KINDS}. Received: {kind!r}")
        if kind == "image" and image_shape is None:
            raise ValueError("SamplePredictionStreamer(kind='image') needs `image_shape`, e.g. (64, 64, 3)")
        if kind == "image" and self.timestep.event == "epoch" and self.min_interval_s:
            raise ValueError(
                "SamplePredictionStreamer(kind='image') on an epoch time step adds the PSNR to every "
                "epoch's record: it takes no `min_interval_s`"
            )
        self.inputs = np.array(inputs, dtype=np.float32, copy=True)
        self.targets = None if targets is None else np.array(targets, copy=True)
        self.kind, self.classes = kind, None if classes is None else tuple(str(c) for c in classes)
        self.image_shape = None if image_shape is None else tuple(int(s) for s in image_shape)
        if self.image_shape is not None and self.targets is not None:
            self.targets = self.targets.reshape(self.image_shape)

    def run(self, trainer):
        outputs = trainer.predict(self.inputs)
        error = psnr = None
        if self.kind == "classification":
            predictions = _softmax(outputs.reshape(len(outputs), -1))
            if self.targets is not None:
                true = self.targets.argmax(axis=1) if self.targets.ndim == 2 else self.targets.reshape(-1)
                error = float((predictions.argmax(axis=1) != true).mean())
        else:
            predictions = outputs
            if self.kind == "image":
                predictions = np.clip(outputs.reshape(self.image_shape), 0.0, 1.0)
            if self.targets is not None:
                error = float(
                    np.mean((predictions.astype(np.float64) - self.targets.reshape(predictions.shape)) ** 2)
                )
                if self.kind == "image":
                    psnr = psnr_db(error)
                    if self.timestep.event == "epoch":
                        # The picture's quality joins the epoch's record: the epoch line of `sigma
                        # train`, the run's history and hooks (early stopping, best checkpoint) read it.
                        trainer.epoch_record["psnr"] = psnr
                        trainer.record_value("psnr", psnr)
        trainer.events.emit(
            SamplePredictions(
                source=trainer.name,
                epoch=trainer.epoch,
                iteration=trainer.iteration,
                kind=self.kind,
                inputs=self.inputs.copy() if self.kind != "image" else None,
                targets=None if self.targets is None else self.targets.copy(),
                predictions=np.array(predictions, copy=True),
                classes=self.classes,
                error=error,
                psnr=psnr,
            )
        )


def psnr_db(mse: float, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio ``10 log10(peak^2 / mse)`` in dB, at most 100 dB (mse 0 included).

    For images in [0, 1]: 20 dB is a blur, 30 dB looks sharp, 40 dB is hard to tell from the original.
    """
    if not mse > 0:
        return _PSNR_CEILING
    return float(min(_PSNR_CEILING, 10.0 * np.log10(peak * peak / mse)))


def _softmax(x):
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
