"""Preprocessors: seeded, composable transforms of batches and datasets with exportable state.

Every preprocessor works on a batch (``apply(batch, rng)``, a dict of numpy arrays) and, through that,
on a whole dataset (``transform``), block by block so a dataset on disk stays on disk. Those that learn
something (``Normalise``, ``OneHot``) are fitted on the training split only, then applied to every
split. ``state_dict()`` holds everything needed to rebuild one (numpy arrays, ints, floats and the
``kind`` string), so checkpoints can store the fitted pipeline; :func:`preprocessor_from_state`
rebuilds it.
"""

from __future__ import annotations

import numpy as np

from engine.data.dataset import Dataset
from engine.data.storage import SectionBuilder, default_memory_budget

__all__ = [
    "Preprocessor",
    "Compose",
    "Normalise",
    "OneHot",
    "Shuffle",
    "register_preprocessor",
    "preprocessor_from_state",
]

_BLOCK_RECORDS = 4096
_REGISTRY: dict[str, type] = {}


def register_preprocessor(cls):
    """Class decorator: make ``cls`` rebuildable by :func:`preprocessor_from_state`."""
    _REGISTRY[cls.__name__] = cls
    return cls


def preprocessor_from_state(state: dict) -> Preprocessor:
    """Rebuild a preprocessor (fitted state included) from :meth:`Preprocessor.state_dict`."""
    kind = str(state["kind"])
    if kind not in _REGISTRY:
        raise ValueError(f"unknown preprocessor kind {kind!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[kind].from_state(state)


class Preprocessor:
    """Base class.

    Parameters
    ----------
    section : str
        The section the preprocessor works on (``"inputs"`` unless stated otherwise).
    seed : int
        Seed used by :meth:`transform` for randomised preprocessors.

    Notes
    -----
    Subclasses implement ``apply_array(x, rng) -> x`` for the section's array of shape ``(B, ...)``
    (or override :meth:`apply` to touch several sections), ``_config()`` for constructor arguments
    and, when they learn, ``fit`` plus ``_fitted_state()``/``_load_fitted(state)``.
    """

    needs_fit = False

    def __init__(self, section: str = "inputs", seed: int = 0):
        self.section = section
        self.seed = int(seed)

    # -- batches -------------------------------------------------------------------------------------
    def apply(self, batch: dict, rng: np.random.Generator | None = None) -> dict:
        """Return a new batch dict with :attr:`section` transformed (other entries shared)."""
        if self.section not in batch:
            return batch
        out = dict(batch)
        rng = rng if rng is not None else np.random.default_rng(self.seed)
        out[self.section] = self.apply_array(np.asarray(batch[self.section]), rng)
        return out

    def apply_array(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    __call__ = apply

    # -- datasets -------------------------------------------------------------------------------------
    def fit(self, dataset: Dataset) -> Preprocessor:
        """Learn from ``dataset`` (the training split). No-op for preprocessors that do not learn."""
        return self

    def transform(self, dataset: Dataset, memory_budget: int | None = None, cache_dir=None) -> Dataset:
        """Apply to every record; blocks get ``default_rng([seed, block index])``.

        The result stays on disk when ``dataset`` is on disk (unless a budget is given).
        """
        if memory_budget is None:
            memory_budget = 0 if dataset.on_disk else default_memory_budget()
        builder = None
        for b, start in enumerate(range(0, len(dataset), _BLOCK_RECORDS)):
            batch = dataset.batch(np.arange(start, min(len(dataset), start + _BLOCK_RECORDS)))
            out = self.apply(batch, np.random.default_rng([self.seed, b]))
            if builder is None:
                dtypes = {k: v.dtype for k, v in out.items()}
                builder = SectionBuilder(dtypes, memory_budget, cache_dir, expected_records=len(dataset))
            builder.append(out)
        if builder is None:
            return dataset
        return Dataset(builder.finish(), dataset.classes, dataset.report, dataset.meta)

    def fit_transform(self, dataset: Dataset) -> Dataset:
        """``fit(dataset)`` then ``transform(dataset)``."""
        return self.fit(dataset).transform(dataset)

    # -- state ----------------------------------------------------------------------------------------
    def _config(self) -> dict:
        return {}

    def _fitted_state(self) -> dict:
        return {}

    def _load_fitted(self, state: dict) -> None:
        pass

    def state_dict(self) -> dict:
        """Return ``{"kind", "section", "seed", <config>, <fitted arrays>}`` (arrays, ints, floats, str)."""
        return {
            "kind": type(self).__name__,
            "section": self.section,
            "seed": self.seed,
            **self._config(),
            **self._fitted_state(),
        }

    def load_state_dict(self, state: dict) -> Preprocessor:
        """Restore fitted state saved by :meth:`state_dict`; returns ``self``."""
        if str(state.get("kind", type(self).__name__)) != type(self).__name__:
            raise ValueError(f"state is for {state['kind']}, not {type(self).__name__}")
        self.seed = int(state.get("seed", self.seed))
        self._load_fitted(state)
        return self

    @classmethod
    def from_state(cls, state: dict) -> Preprocessor:
        """Build an instance from :meth:`state_dict` output."""
        config = {k: _plain(state[k]) for k in cls._config_keys() if k in state}
        obj = cls(**config, section=str(state.get("section", "inputs")), seed=int(state.get("seed", 0)))
        return obj.load_state_dict(state)

    @classmethod
    def _config_keys(cls) -> tuple:
        return ()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config().items())
        return f"{type(self).__name__}({args})"


def _plain(value):
    """numpy scalars / 0-d arrays / bytes from an HDF5 round trip back to Python values."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


@register_preprocessor
class Compose(Preprocessor):
    """Apply preprocessors in order; each is fitted on the output of the ones before it.

    Parameters
    ----------
    steps : list of Preprocessor
    """

    def __init__(self, steps, section: str = "inputs", seed: int = 0):
        super().__init__(section, seed)
        self.steps = list(steps)

    @property
    def needs_fit(self) -> bool:
        return any(s.needs_fit for s in self.steps)

    def apply(self, batch, rng=None):
        rng = rng if rng is not None else np.random.default_rng(self.seed)
        for step in self.steps:
            batch = step.apply(batch, rng)
        return batch

    def fit(self, dataset):
        for i, step in enumerate(self.steps):
            step.fit(dataset)
            if any(s.needs_fit for s in self.steps[i + 1 :]):
                dataset = step.transform(dataset)
        return self

    def transform(self, dataset, memory_budget=None, cache_dir=None):
        for step in self.steps:
            dataset = step.transform(dataset, memory_budget, cache_dir)
        return dataset

    def state_dict(self):
        state = {"kind": "Compose", "n_steps": len(self.steps), "seed": self.seed}
        for i, step in enumerate(self.steps):
            state.update({f"steps/{i}/{k}": v for k, v in step.state_dict().items()})
        return state

    @classmethod
    def from_state(cls, state):
        steps = []
        for i in range(int(state["n_steps"])):
            prefix = f"steps/{i}/"
            steps.append(
                preprocessor_from_state(
                    {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
                )
            )
        return cls(steps, seed=int(state.get("seed", 0)))

    def __repr__(self):
        return f"Compose({self.steps!r})"


@register_preprocessor
class Normalise(Preprocessor):
    """Scale inputs to [0, 1] (``minmax``) or to zero mean and unit variance (``standard``).

    Parameters
    ----------
    mode : {"minmax", "standard"}
    per_feature : bool
        One offset/scale per element of the record (shape ``record_shape``) or one for all.
    section : str
    eps : float
        Features with a range (or std) below ``eps`` are only shifted, never divided by ~0.
    """

    needs_fit = True

    def __init__(
        self,
        mode: str = "minmax",
        per_feature: bool = False,
        section: str = "inputs",
        seed: int = 0,
        eps: float = 1e-8,
    ):
        if mode not in ("minmax", "standard"):
            raise ValueError(f"Invalid value for `mode`. Expected 'minmax' or 'standard'. Received: {mode!r}")
        super().__init__(section, seed)
        self.mode, self.per_feature, self.eps = mode, bool(per_feature), float(eps)
        self.offset: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    @classmethod
    def _config_keys(cls):
        return ("mode", "per_feature", "eps")

    def _config(self):
        return {"mode": self.mode, "per_feature": int(self.per_feature), "eps": self.eps}

    def fit(self, dataset):
        section = dataset[self.section]
        n = len(section)
        if n == 0:
            raise ValueError("cannot fit Normalise on an empty dataset")
        axis = 0 if self.per_feature else None
        lo = hi = s = ss = None
        for start in range(0, n, _BLOCK_RECORDS):
            x = np.asarray(section[start : start + _BLOCK_RECORDS], dtype=np.float64)
            blo, bhi = x.min(axis=axis), x.max(axis=axis)
            bs, bss = x.sum(axis=axis), np.square(x).sum(axis=axis)
            lo = blo if lo is None else np.minimum(lo, blo)
            hi = bhi if hi is None else np.maximum(hi, bhi)
            s = bs if s is None else s + bs
            ss = bss if ss is None else ss + bss
        count = n if self.per_feature else n * int(np.prod(section.shape[1:], dtype=np.int64))
        if self.mode == "minmax":
            offset, spread = lo, hi - lo
        else:
            offset = s / count
            spread = np.sqrt(np.maximum(ss / count - np.square(offset), 0.0))
        self.offset = np.asarray(offset, dtype=np.float32)
        self.scale = np.asarray(
            np.where(spread > self.eps, 1.0 / np.maximum(spread, self.eps), 1.0), dtype=np.float32
        )
        return self

    def apply_array(self, x, rng):
        if self.offset is None:
            raise RuntimeError("Normalise is not fitted; call fit(training_split) first")
        return ((x.astype(np.float32, copy=False) - self.offset) * self.scale).astype(np.float32, copy=False)

    def _fitted_state(self):
        return {} if self.offset is None else {"offset": self.offset, "scale": self.scale}

    def _load_fitted(self, state):
        if "offset" in state:
            self.offset = np.asarray(state["offset"], dtype=np.float32)
            self.scale = np.asarray(state["scale"], dtype=np.float32)


@register_preprocessor
class OneHot(Preprocessor):
    """Turn int class indices ``(B,)`` into float32 one-hot rows ``(B, n_classes)``.

    Parameters
    ----------
    n_classes : int, optional
        Taken from ``dataset.classes`` (or the largest index + 1) by :meth:`fit` when not given.
    section : str
        ``"targets"`` by default.
    """

    def __init__(self, n_classes: int | None = None, section: str = "targets", seed: int = 0):
        super().__init__(section, seed)
        self.n_classes = None if n_classes is None else int(n_classes)

    @property
    def needs_fit(self) -> bool:
        return self.n_classes is None

    @classmethod
    def _config_keys(cls):
        return ("n_classes",)

    def _config(self):
        return {} if self.n_classes is None else {"n_classes": self.n_classes}

    def fit(self, dataset):
        if self.n_classes is None:
            if dataset.classes is not None:
                self.n_classes = len(dataset.classes)
            else:
                self.n_classes = int(np.max(np.asarray(dataset[self.section]))) + 1
        return self

    def apply_array(self, x, rng):
        if self.n_classes is None:
            raise RuntimeError("OneHot does not know the number of classes; give n_classes or call fit")
        x = np.asarray(x)
        if x.dtype.kind not in "iu":
            raise ValueError(f"OneHot expects integer class indices; received {x.dtype}")
        if x.size and (x.min() < 0 or x.max() >= self.n_classes):
            raise ValueError(f"class index out of range 0..{self.n_classes - 1}")
        return np.eye(self.n_classes, dtype=np.float32)[x]


@register_preprocessor
class Shuffle(Preprocessor):
    """Reorder records with a seeded permutation (all sections together)."""

    def apply(self, batch, rng=None):
        rng = rng if rng is not None else np.random.default_rng(self.seed)
        n = len(next(iter(batch.values())))
        order = rng.permutation(n)
        return {k: np.asarray(v)[order] for k, v in batch.items()}

    def transform(self, dataset, memory_budget=None, cache_dir=None):
        return dataset.subset(np.random.default_rng(self.seed).permutation(len(dataset)))
