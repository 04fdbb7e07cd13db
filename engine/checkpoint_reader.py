"""Reading a checkpoint file that may be damaged or crafted, within bounded time and memory.

Before a single array is read, the object tree is walked with bounded visits (depth, object count,
each object seen once: a hard-link loop or an alias is refused) and every object is checked against
what :func:`engine.checkpoint.save` writes: hard links only (no soft or external links), plain numeric
datasets with contiguous or compact storage that is fully written (no external storage, no virtual,
chunked or filtered datasets, no unallocated space a read would fill with zeros), and, all together,
no more data than the file holds. Only then are the attributes and arrays read; the digest covers
every dataset and every attribute that restore uses.

What this cannot bound is HDF5's own C code following damaged metadata (a flipped bit in a B-tree or
heap can make it loop without returning): :mod:`engine.checkpoint_guard` runs this reader in a child
process with a time and memory limit for the CLI and the studio.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat

import h5py
import numpy as np

__all__ = ["CheckpointError", "read", "digest_of", "MAX_DEPTH", "MAX_OBJECTS"]

FORMAT = "sigma-checkpoint"
FORMAT_VERSION = 3  # 3: the iteration history may be a float64 table (HISTORY_DATASET)
# Version 2 kept the whole iteration history as JSON in ``.meta``; version 1 kept JSON in
# variable-length string attributes (HDF5's global heap) and its digest covered the datasets only.
# Both are still read.
GROUPS = ("parameters", "buffers", "optimiser", "hooks")
ROOT_ATTRIBUTES = {
    1: ("format", "format_version", "network_spec", "meta", "digest"),
    2: ("format", "format_version", "digest"),
    3: ("format", "format_version", "digest"),
}
JSON_DATASETS = (".network_spec", ".meta")
#: Version 3: ``/.iteration_history`` (float64, one row per report: the iteration, then the values
#: named by the meta's ``iteration_history_columns``) instead of the meta's ``iteration_history``.
HISTORY_DATASET, HISTORY_COLUMNS = ".iteration_history", "iteration_history_columns"
MAX_DEPTH = 12
MAX_OBJECTS = 200_000
_PLAIN_KINDS = "biuf"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the trainer; ``path`` names the file."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(f"{message} (checkpoint {path})" if path else message)
        self.path = path


def _attribute_bytes(value) -> bytes:
    if isinstance(value, bytes):
        return b"b" + value
    if isinstance(value, str):
        return b"s" + value.encode("utf-8", "surrogatepass")
    array = np.asarray(value)
    if array.dtype.kind not in _PLAIN_KINDS:
        return b"o" + repr(value).encode()
    return f"{array.dtype.str}{array.shape}".encode() + np.ascontiguousarray(array).tobytes()


def digest_of(datasets: dict, attributes: dict, version: int = FORMAT_VERSION, groups=()) -> str:
    """SHA-256 over ``{path: array}`` datasets and, from version 2, the ``{(path, name): value}``
    attributes and the paths of ``groups``, each in sorted order, with every array's dtype and shape."""
    h = hashlib.sha256()
    if version >= 2:
        for name in sorted(g.strip("/") for g in groups if g.strip("/")):
            h.update(f"#{name}|".encode())
    for name in sorted(datasets):
        data = np.ascontiguousarray(datasets[name])
        h.update(f"{name.lstrip('/')}|{data.dtype.str}|{data.shape}".encode())
        h.update(data)  # the contiguous buffer itself: the same bytes as ``tobytes()``, no copy
    if version >= 2:
        for where, name in sorted(attributes):
            if where == "/" and name == "digest":
                continue
            h.update(f"@{where}|{name}|".encode())
            h.update(_attribute_bytes(attributes[where, name]))
    return h.hexdigest()


class _Walk:
    """The checked object tree: datasets and attributes to read, with their sizes."""

    def __init__(self, f, path: str, size: int):
        self.path, self.size = path, size
        self.datasets: dict[str, h5py.Dataset] = {}
        self.groups: dict[str, h5py.Group] = {"/": f}
        self.seen: set[int] = {h5py.h5o.get_info(f.id).addr}
        self.total = 0
        self._walk(f, "/", 0)

    def _fail(self, message: str):
        raise CheckpointError(message, self.path)

    def _walk(self, group, where: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            self._fail(f"group {where!r} is nested deeper than {MAX_DEPTH} levels")
        for name in group:
            full = f"{where.rstrip('/')}/{name}"
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                self._fail(f"{full!r} is a {type(link).__name__} (only plain objects are allowed)")
            obj = group[name]
            address = h5py.h5o.get_info(obj.id).addr
            if address in self.seen:
                self._fail(f"{full!r} links back to an object already seen (a link loop or alias)")
            self.seen.add(address)
            if len(self.seen) > MAX_OBJECTS:
                self._fail(f"more than {MAX_OBJECTS} objects")
            if isinstance(obj, h5py.Group):
                self.groups[full] = obj
                self._walk(obj, full, depth + 1)
            elif isinstance(obj, h5py.Dataset):
                self._check_dataset(obj, full)
            else:
                self._fail(f"{full!r} is a {type(obj).__name__}, not a group or dataset")

    def _check_dataset(self, ds, full: str) -> None:
        dtype = ds.dtype
        if dtype.kind not in _PLAIN_KINDS or dtype.names is not None or dtype.subdtype is not None:
            self._fail(f"dataset {full!r} has a non-numeric dtype {dtype}")
        if ds.shape is None:
            self._fail(f"dataset {full!r} is empty (no shape)")
        plist = ds.id.get_create_plist()
        if plist.get_external_count():
            self._fail(f"dataset {full!r} keeps its data in an external file")
        layout = plist.get_layout()
        if layout == h5py.h5d.VIRTUAL:
            self._fail(f"dataset {full!r} is a virtual dataset")
        if layout not in (h5py.h5d.CONTIGUOUS, h5py.h5d.COMPACT) or plist.get_nfilters():
            self._fail(f"dataset {full!r} is chunked or filtered, which Sigma never writes")
        nbytes = int(np.prod(ds.shape, dtype=np.int64)) * dtype.itemsize if ds.shape else dtype.itemsize
        if nbytes and ds.id.get_storage_size() != nbytes:
            self._fail(
                f"dataset {full!r} declares {nbytes} bytes but stores {ds.id.get_storage_size()} "
                "(unwritten or damaged)"
            )
        self.total += nbytes
        if self.total > self.size:
            self._fail(f"the datasets declare more data ({self.total} bytes) than the file holds")
        self.datasets[full] = ds


def _attributes(obj, where: str, path: str, version: int) -> dict:
    out = {}
    for name in obj.attrs:
        if version >= 2 and _variable_length(obj, name):
            raise CheckpointError(f"attribute {name!r} of {where!r} has a variable-length type", path)
        try:
            out[where, name] = obj.attrs[name]
        except (OSError, TypeError, ValueError) as exc:
            raise CheckpointError(f"attribute {name!r} of {where!r} cannot be read ({exc})", path) from None
    return out


def _variable_length(obj, name: str) -> bool:
    """Whether attribute ``name`` is stored in the global heap (checked without reading its value)."""
    kind = h5py.h5a.open(obj.id, name.encode("utf-8")).get_type()
    return isinstance(kind, h5py.h5t.TypeVlenID) or (
        isinstance(kind, h5py.h5t.TypeStringID) and kind.is_variable_str()
    )


def _json(value, what: str, path: str, kind=(dict,)):
    if isinstance(value, np.ndarray):  # version 2: UTF-8 bytes in a uint8 dataset
        if value.dtype != np.uint8 or value.ndim != 1:
            raise CheckpointError(f"{what!r} is not a JSON text", path)
        value = value.tobytes()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise CheckpointError(f"attribute {what!r} is missing or not a string", path)
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"attribute {what!r} is not valid JSON ({str(exc)[:80]})", path) from None
    if not isinstance(parsed, kind):
        raise CheckpointError(f"attribute {what!r} has the wrong structure ({type(parsed).__name__})", path)
    return parsed


def _tree(walk: _Walk, attrs: dict, arrays: dict, root: str, version: int) -> dict:
    """The state tree under group ``root``: JSON ``values`` merged with datasets (or their shapes)."""
    prefix = root + "/"
    if version >= 2:
        if prefix + ".values" not in walk.datasets:
            raise CheckpointError(f"group {root!r} has no '.values'", walk.path)
        out = _json(arrays[prefix + ".values"], prefix + ".values", walk.path)
    else:
        out = _json(attrs[root, "values"], f"{root}@values", walk.path) if (root, "values") in attrs else {}
    for name in walk.groups:
        if name.startswith(prefix) and "/" not in name[len(prefix) :]:
            out[name[len(prefix) :]] = _tree(walk, attrs, arrays, name, version)
    for name, ds in walk.datasets.items():
        key = name[len(prefix) :]
        if name.startswith(prefix) and "/" not in key and not key.startswith("."):
            out[key] = arrays[name] if name in arrays else _Shape(ds.shape, ds.dtype)
    return out


class _Shape:
    """A dataset not read (``info``): its shape and dtype only."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), dtype


def read(path, arrays: bool = True, verify: bool = True) -> dict:
    """Check and read a checkpoint into plain values and host arrays; applies nothing.

    Parameters
    ----------
    path : str or PathLike
    arrays : bool
        Read the datasets; without, ``parameters`` etc. hold shape placeholders (``sigma info``),
        so nothing the size of the network is allocated.
    verify : bool
        Check the digest (needs ``arrays``).

    Returns
    -------
    dict
        ``spec``, ``meta`` (dicts), ``parameters``, ``buffers``, ``optimiser``, ``hooks`` (trees),
        ``format_version``.

    Raises
    ------
    CheckpointError
        For anything but a complete, consistent checkpoint.
    """
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except OSError:
        raise CheckpointError("no such file", path) from None
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError("not a regular file", path)
    try:
        if not h5py.is_hdf5(path):
            raise CheckpointError("not an HDF5 file (is it a checkpoint, or truncated?)", path)
        with h5py.File(path, "r") as f:
            return _read_open(f, path, st.st_size, arrays, verify)
    except CheckpointError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError, AttributeError) as exc:
        # HDF5 reports damaged metadata as any of these, from wherever it notices
        raise CheckpointError(
            f"damaged or truncated file ({type(exc).__name__}: {str(exc)[:120]})", path
        ) from None


def _root_attribute(f, name: str, path: str, version: int = 2):
    if name not in f.attrs:
        return None
    if version >= 2 and _variable_length(f, name):
        return None  # refused later, with every attribute; never read from the global heap
    value = f.attrs[name]
    if isinstance(value, bytes | np.bytes_):
        value = bytes(value).decode("utf-8", "replace")
    return value


def _history_from_table(meta: dict, table, path: str) -> None:
    """Put a version-3 history table back into ``meta["iteration_history"]`` as the trainer keeps it,
    ``[[iteration, {name: value}], ...]``, after checking it fits its column names."""
    names = meta.pop(HISTORY_COLUMNS, None)
    if table is None and names is None:
        return
    if table is None or not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError("the iteration history table and its column names do not match", path)
    if table.dtype != np.float64 or table.ndim != 2 or table.shape[1] != 1 + len(names):
        raise CheckpointError(f"the iteration history table has the wrong shape {table.shape}", path)
    steps = table[:, 0]
    if not (np.isfinite(steps).all() and (steps >= 0).all() and (steps < 2**53).all()):
        raise CheckpointError("the iteration history holds an iteration that is not a count", path)
    if (steps != np.floor(steps)).any():
        raise CheckpointError("the iteration history holds an iteration that is not a count", path)
    meta["iteration_history"] = [[int(row[0]), dict(zip(names, row[1:]))] for row in table.tolist()]


def _read_open(f, path: str, size: int, arrays: bool, verify: bool) -> dict:
    version = _root_attribute(f, "format_version", path)
    if not isinstance(version, int | np.integer) or not 1 <= int(version) <= FORMAT_VERSION:
        kind = _root_attribute(f, "format", path)
        if kind != FORMAT:
            raise CheckpointError(f"not a Sigma checkpoint (format attribute {kind!r})", path)
        raise CheckpointError(f"unsupported checkpoint format version {version!r}", path)
    version = int(version)
    kind = _root_attribute(f, "format", path, version)
    if kind != FORMAT:
        raise CheckpointError(f"not a Sigma checkpoint (format attribute {kind!r})", path)
    unknown = sorted(set(f.attrs) - set(ROOT_ATTRIBUTES[version]))
    if unknown:
        raise CheckpointError(f"unexpected root attribute {unknown[0]!r}", path)
    walk = _Walk(f, path, size)
    for name in GROUPS:
        if f"/{name}" not in walk.groups:
            raise CheckpointError(f"group {name!r} is missing", path)
    top = (
        *GROUPS,
        "",
        *(JSON_DATASETS if version >= 2 else ()),
        *((HISTORY_DATASET,) if version >= 3 else ()),
    )
    extra = sorted(n for n in (*walk.groups, *walk.datasets) if n.count("/") == 1 and n[1:] not in top)
    if extra:
        raise CheckpointError(f"unexpected object {extra[0]!r} at the top level", path)
    attrs = {}
    for where, obj in (*walk.groups.items(), *walk.datasets.items()):
        attrs.update(_attributes(obj, where, path, version))
    json_names = {n for n in walk.datasets if n.rsplit("/", 1)[-1].startswith(".")}
    wanted = walk.datasets if arrays else {n: walk.datasets[n] for n in json_names}
    data = {name: np.asarray(ds[()]) for name, ds in wanted.items()}
    if version >= 2:
        spec, meta = data.get("/.network_spec"), data.get("/.meta")
    else:
        spec, meta = attrs.get(("/", "network_spec")), attrs.get(("/", "meta"))
    content = {
        "spec": _json(spec, "network_spec", path),
        "meta": _json(meta, "meta", path),
        "format_version": version,
    }
    _history_from_table(content["meta"], data.get("/" + HISTORY_DATASET), path)
    for name in GROUPS:
        content[name] = _tree(walk, attrs, data, f"/{name}", version)
    if verify and arrays:
        stored = attrs.get(("/", "digest"))
        if isinstance(stored, bytes | np.bytes_):
            stored = bytes(stored).decode("ascii", "replace")
        if stored != digest_of(data, attrs, version, walk.groups):
            raise CheckpointError("contents do not match the stored digest: the file is damaged", path)
    return content
