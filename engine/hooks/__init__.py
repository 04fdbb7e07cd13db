"""Hooks: work that runs on time steps (every N iterations or epochs, once, on start/stop/pause/resume,
with a live time) gated by criteria (thresholds, new extremes, repetitions, and/or/not, a toggle).

Built-ins report through the events of :mod:`engine.events`.
"""

from .base import FunctionHook, Hook, HookList, PacedHook
from .control import EarlyStopping, LearningRateScheduler
from .criteria import Always, And, Criterion, NewExtremum, Not, Or, Repeated, Threshold, Toggle
from .guards import DivergedError, NaNGuard, NonFiniteError, ValueModifier
from .health import DEFAULT_HEALTH_INTERVAL, LayerHealth
from .health_rules import ADVICE, Thresholds
from .histograms import HistogramReporter
from .reporters import MetricReporter, ResourceReporter, RuntimeReporter
from .samples import SamplePredictionStreamer
from .saver import CheckpointSaver
from .text import TextSampler
from .timestep import EVENTS, TimeStep, every, on, once_after
from .validation import ValidationMetrics, confusion_matrix, per_class_metrics, top_k_accuracy

__all__ = [
    "Hook",
    "HookList",
    "FunctionHook",
    "PacedHook",
    "TimeStep",
    "EVENTS",
    "every",
    "once_after",
    "on",
    "Criterion",
    "Always",
    "Threshold",
    "NewExtremum",
    "Repeated",
    "And",
    "Or",
    "Not",
    "Toggle",
    "MetricReporter",
    "RuntimeReporter",
    "ResourceReporter",
    "HistogramReporter",
    "LayerHealth",
    "DEFAULT_HEALTH_INTERVAL",
    "Thresholds",
    "ADVICE",
    "ValidationMetrics",
    "EarlyStopping",
    "LearningRateScheduler",
    "CheckpointSaver",
    "SamplePredictionStreamer",
    "TextSampler",
    "NaNGuard",
    "NonFiniteError",
    "DivergedError",
    "ValueModifier",
    "confusion_matrix",
    "per_class_metrics",
    "top_k_accuracy",
]
