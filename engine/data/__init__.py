"""The data pipeline: files into datasets, preprocessing, and fast minibatch iteration.

Public entry points
-------------------
``load(source, **options) -> Dataset``
    Images (class folders or a label CSV), CSV/TSV, text, IDX, NumPy, HDF5, zip/tar archives.
``Dataset``
    Named sections (``inputs``, ``targets``), splits, fingerprint, statistics, subsets.
``MinibatchIterator`` / ``WholeIterator``
    Seeded, resumable iteration with background prefetch.
Preprocessors
    ``Normalise``, ``OneHot``, ``Shuffle``, ``Permute``, ``Resize``, ``Compose`` and augmentation
    (``Flip``, ``RandomCrop``, ``Rotate``, ``Noise``).
``samples``
    ``digits()``, ``cat()``, ``cat_dataset()``, ``xor()``, ``text()``.

This package hands out plain numpy arrays and never imports the autodiff engine or any GUI code.
"""

from engine.data import samples
from engine.data.archive import safe_extract
from engine.data.augment import Flip, Noise, RandomCrop, Rotate
from engine.data.dataset import Dataset, IndexedSection
from engine.data.errors import DataImportError, ImportCancelled, ReportRecord
from engine.data.iterators import MinibatchIterator, WholeIterator
from engine.data.loader import concatenate, detect_format, load
from engine.data.preprocess import (
    Compose,
    Normalise,
    OneHot,
    Preprocessor,
    Shuffle,
    preprocessor_from_state,
)
from engine.data.reshape import Permute, Resize
from engine.data.storage import H5Section, default_memory_budget

__all__ = [
    "load",
    "concatenate",
    "detect_format",
    "safe_extract",
    "Dataset",
    "IndexedSection",
    "H5Section",
    "default_memory_budget",
    "DataImportError",
    "ImportCancelled",
    "ReportRecord",
    "MinibatchIterator",
    "WholeIterator",
    "Preprocessor",
    "Compose",
    "Normalise",
    "OneHot",
    "Shuffle",
    "Permute",
    "Resize",
    "Flip",
    "RandomCrop",
    "Rotate",
    "Noise",
    "preprocessor_from_state",
    "samples",
]
