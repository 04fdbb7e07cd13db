"""Checks on project files: bounded JSON, field types and ranges, and what a run needs of the machine.

A project file is untrusted input like any data file. :func:`parse_project_json` reads it with limits
(nesting depth, digits in a number, no NaN/Infinity); :func:`validate_document` checks every field
the engine reads for its type and range before anything is built; :func:`check_runnable` checks what
depends on the machine (CPU cores for ``workers``, memory for the network) before a run starts.
Every failure is a :class:`ProjectError` naming the file and the field.
"""

from __future__ import annotations

import json
import math
import os
import stat

from .kernels import CHOICES as KERNELS

__all__ = [
    "ProjectError",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "KNOWN_AUGMENT",
    "KNOWN_NORMALISE",
    "read_project_text",
    "parse_project_json",
    "validate_document",
    "check_runnable",
    "network_memory",
]

#: Deepest nesting of objects/lists a project file may have (a network spec needs about 6).
MAX_DEPTH = 64
#: Largest project file read (a project is settings and a network spec, never data).
MAX_FILE_BYTES = 16 << 20
#: Most digits an integer in a project may have (int64 has 19).
MAX_DIGITS = 19
#: Training augmentations a project may name (``dataset.augment``), as the studio offers them.
KNOWN_AUGMENT = ("flip", "rotate", "noise", "random_crop")
#: Input normalisations (``dataset.normalise``).
KNOWN_NORMALISE = (None, "minmax", "standard")
#: Upper bounds on counts that would otherwise run away before anything checks them.
_MAX_WORKERS = 4096
_MAX_COUNT = 10**9
_MAX_SECONDS = 7 * 24 * 3600  # a week: a longer save floor is a typo


class ProjectError(ValueError):
    """A project file that cannot be read or is not valid; the message names the file and the field."""

    def __init__(self, message: str, path: str | None = None, field_name: str | None = None):
        self.path = path
        self.field = field_name
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{message}")


def _field_error(message: str, where, field: str) -> ProjectError:
    """A :class:`ProjectError` whose message starts with the field's dotted name."""
    return ProjectError(f"{field}: {message}", where, field)


def read_project_text(path) -> str:
    """The text of a project file; devices, FIFOs, folders and oversized files are refused by ``stat``."""
    where = os.fspath(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ProjectError("file not found", where) from None
    except OSError as exc:
        raise ProjectError(f"cannot read the file ({exc.strerror or exc})", where) from None
    if stat.S_ISDIR(info.st_mode):
        raise ProjectError("is a folder; expected a project file (.sigma.json)", where)
    if not stat.S_ISREG(info.st_mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else "a device or special file"
        raise ProjectError(f"is {kind}, not a project file; refusing to read it", where)
    if info.st_size > MAX_FILE_BYTES:
        raise ProjectError(
            f"file is {info.st_size} bytes; a project file is at most {MAX_FILE_BYTES} bytes", where
        )
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)  # the file may have grown since stat
    except OSError as exc:
        raise ProjectError(f"cannot read the file ({exc.strerror or exc})", where) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ProjectError(f"file is over {MAX_FILE_BYTES} bytes", where)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ProjectError(f"not UTF-8 text (byte {raw[exc.start]:#04x} on line {line})", where) from None


def parse_project_json(text: str, where: str | None = None):
    """Parse project JSON with bounds: nesting depth, integer digits, finite numbers only."""

    def parse_int(s: str) -> int:
        digits = len(s.lstrip("-"))
        if digits > MAX_DIGITS:
            raise ProjectError(f"an integer has {digits} digits; at most {MAX_DIGITS} are allowed", where)
        return int(s)

    def parse_float(s: str) -> float:
        value = float(s)
        if not math.isfinite(value):
            raise ProjectError(f"the number {s[:40]} is too large", where)
        return value

    def parse_constant(s: str):
        raise ProjectError(f"{s} is not a valid JSON number", where)

    try:
        doc = json.loads(text, parse_int=parse_int, parse_float=parse_float, parse_constant=parse_constant)
    except json.JSONDecodeError as exc:
        raise ProjectError(
            f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", where
        ) from None
    except RecursionError:
        raise ProjectError(f"JSON nested too deeply (at most {MAX_DEPTH} levels)", where) from None
    _check_depth(doc, where)
    return doc


def _check_depth(doc, where) -> None:
    """Refuse documents nested deeper than :data:`MAX_DEPTH` (walked with a stack, not recursion)."""
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise ProjectError(f"JSON nested more than {MAX_DEPTH} levels deep", where)
            children = value.values() if isinstance(value, dict) else value
            stack.extend((v, depth + 1) for v in children if isinstance(v, (dict, list)))


# ------------------------------------------------------------------------------------ field checks
def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int_in(value, low: int, high: int, field: str, where) -> None:
    if not _is_int(value) or not low <= value <= high:
        raise _field_error(f"expected a whole number from {low} to {high}, got {value!r}", where, field)


def _fraction(value, field: str, where) -> float:
    if value is None:
        return 0.0
    if not _is_number(value) or not 0.0 <= value < 1.0:
        raise _field_error(f"expected a fraction in [0, 1), got {value!r}", where, field)
    return float(value)


def _str_or_none(value, field: str, where) -> None:
    if value is not None and not isinstance(value, str):
        raise _field_error(f"expected text or null, got {type(value).__name__}", where, field)


def _augment_name(item, i: int, where) -> str:
    field = f"dataset.augment[{i}]"
    name = item.get("type") if isinstance(item, dict) else item
    if not isinstance(name, str):
        raise _field_error(
            f"expected an augmentation name or {{'type': name}}, got {item!r:.80}", where, field
        )
    if name not in KNOWN_AUGMENT:
        raise _field_error(
            f"unknown augmentation {name[:80]!r}; known: {', '.join(KNOWN_AUGMENT)}", where, field
        )
    return name


def validate_dataset(dataset: dict, where) -> None:
    """Types and ranges of the ``dataset`` object."""
    source = dataset.get("source")
    if source is not None:
        items = source if isinstance(source, list) else [source]
        if not items or not all(isinstance(s, str) and s for s in items):
            raise _field_error("expected a path, 'sample:<name>' or a list of paths", where, "dataset.source")
    options = dataset.get("options")
    if options is not None and not isinstance(options, dict):
        raise _field_error("expected an object of import options", where, "dataset.options")
    validation = _fraction(dataset.get("validation_split"), "dataset.validation_split", where)
    test = _fraction(dataset.get("test_split"), "dataset.test_split", where)
    if validation + test >= 1.0:
        raise _field_error(
            f"validation_split {validation} and test_split {test} leave no training records", where, "dataset"
        )
    normalise = dataset.get("normalise")
    if normalise not in KNOWN_NORMALISE:
        known = ", ".join(str(k).lower() if k is None else k for k in KNOWN_NORMALISE)
        raise _field_error(
            f"unknown normalisation {str(normalise)[:80]!r}; known: {known}", where, "dataset.normalise"
        )
    augment = dataset.get("augment")
    if augment is not None:
        if not isinstance(augment, list):
            raise _field_error("expected a list of augmentation names", where, "dataset.augment")
        for i, item in enumerate(augment):
            _augment_name(item, i, where)


def validate_training(training: dict, where) -> None:
    """Types and ranges of the ``training`` object (machine limits come later, in :func:`check_runnable`)."""
    _int_in(training.get("workers", 1), 1, _MAX_WORKERS, "training.workers", where)
    _int_in(training.get("batch_size", 1), 1, _MAX_COUNT, "training.batch_size", where)
    _int_in(training.get("epochs", 1), 0, _MAX_COUNT, "training.epochs", where)
    _int_in(training.get("seed", 0), 0, 2**63 - 1, "training.seed", where)
    _str_or_none(training.get("backend"), "training.backend", where)
    kernels = training.get("kernels", "numpy")
    if kernels not in KERNELS:
        raise _field_error(
            f"expected one of {', '.join(KERNELS)}, got {kernels!r:.80}", where, "training.kernels"
        )
    _str_or_none(training.get("loss"), "training.loss", where)
    metrics = training.get("metrics")
    if metrics is not None and not (isinstance(metrics, list) and all(isinstance(m, str) for m in metrics)):
        raise _field_error("expected a list of metric names", where, "training.metrics")
    optimiser = training.get("optimiser")
    if isinstance(optimiser, dict):
        if not isinstance(optimiser.get("type", "adam"), str):
            raise _field_error("expected the optimiser's name as text", where, "training.optimiser.type")
        for key, value in optimiser.items():
            if key != "type" and not (_is_number(value) or isinstance(value, (bool, str, type(None)))):
                raise _field_error(
                    f"expected a number, got {value!r:.80}", where, f"training.optimiser.{key}"
                )
    elif optimiser is not None and not isinstance(optimiser, str):
        raise _field_error("expected an optimiser name or object", where, "training.optimiser")
    for key in ("schedule", "early_stopping", "checkpoint"):
        if training.get(key) is not None and not isinstance(training[key], dict):
            raise _field_error("expected an object or null", where, f"training.{key}")
    checkpoint = training.get("checkpoint") or {}
    if "every_epochs" in checkpoint and checkpoint["every_epochs"] is not None:
        _int_in(checkpoint["every_epochs"], 0, _MAX_COUNT, "training.checkpoint.every_epochs", where)
    if checkpoint.get("keep") is not None:
        _int_in(checkpoint["keep"], 1, _MAX_COUNT, "training.checkpoint.keep", where)
    _str_or_none(checkpoint.get("directory"), "training.checkpoint.directory", where)
    floor = checkpoint.get("min_seconds")
    if floor is not None and not (_is_number(floor) and 0 <= floor <= _MAX_SECONDS):
        raise _field_error(
            f"expected seconds between 0 and {_MAX_SECONDS:g} (or null for the default), got {floor!r:.80}",
            where,
            "training.checkpoint.min_seconds",
        )


def validate_document(doc: dict, where) -> None:
    """Check the fields of a project document the engine reads; raise :class:`ProjectError` naming one."""
    _str_or_none(doc.get("name"), "name", where)
    _str_or_none(doc.get("last_checkpoint"), "last_checkpoint", where)
    validate_dataset(doc.get("dataset") or {}, where)
    validate_training(doc.get("training") or {}, where)


# -------------------------------------------------------------------------------- machine checks
def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def network_memory(spec: dict, batch_size: int) -> tuple[int, int, int] | None:
    """Estimate what training a network spec takes, without building it.

    Returns
    -------
    (bytes, parameters, activations) or None
        ``bytes``: parameters with their gradients and two optimiser moments (16 bytes each in
        float32) plus per-record activations, their gradients and a temporary (12 bytes each) times
        ``batch_size``; ``None`` when the spec does not analyse (building it reports why).
    """
    from engine.network.graph import analyse

    try:
        analysis = analyse(spec)
    except Exception:  # a spec that does not analyse is reported by the builder
        return None
    if analysis.errors:
        return None
    params = sum(int(i.params or 0) for i in analysis.nodes.values())
    activations = 0
    for info in analysis.nodes.values():
        if info.output_shape is not None:
            activations += math.prod(int(s) for s in info.output_shape if s is not None)
    return 16 * params + 12 * activations * int(batch_size), params, activations


def check_runnable(project, workers: int | None = None) -> None:
    """Refuse, before anything is built, a run the machine cannot do: more workers than CPU cores,
    a network whose parameters and activations need more memory than is available (saying how much)."""
    import psutil

    from engine.data.budget import human_bytes

    where = str(project.path) if project.path else None
    settings = project.training
    count = workers if workers is not None else settings["workers"]
    cores = _cores()
    if _is_int(count) and count > cores:
        raise _field_error(
            f"{count} workers is more than this machine's {cores} CPU cores", where, "training.workers"
        )
    if not project.network:
        return
    batch = settings["batch_size"]  # a TrainingSettings: always present, already checked
    estimate = network_memory(project.network, batch)
    if estimate is None:
        return
    need, params, activations = estimate
    available = psutil.virtual_memory().available
    if need > available:
        raise _field_error(
            f"the network needs about {human_bytes(need)} to train ({params:,} parameters, {activations:,} "
            f"activations per record at batch size {batch}); this machine has {human_bytes(available)} "
            "available. Use fewer units or a smaller batch size",
            where,
            "network",
        )
