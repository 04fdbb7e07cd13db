"""Writing a checkpoint's objects into an open HDF5 file (format 3; the layout is described in
:mod:`engine.checkpoint`, the reader is :mod:`engine.checkpoint_reader`).

:func:`write_content` writes the parts :func:`engine.checkpoint._to_file` makes (network spec, meta,
the iteration history's table, the four state trees) and the digest; :func:`history_table` turns the
iteration history into that table. Atomic replacement and fsync stay with :func:`engine.checkpoint.save`.
"""

from __future__ import annotations

import json
from itertools import chain

import numpy as np

from .backend import to_host
from .checkpoint_reader import FORMAT, FORMAT_VERSION, HISTORY_DATASET, CheckpointError, digest_of

__all__ = ["write_content", "history_table"]

_FLOATS = frozenset({float})


def write_content(h5file, content: dict) -> None:
    """Write ``content`` (``spec``, ``meta``, ``iteration_table`` or None, ``parameters``, ``buffers``,
    ``optimiser``, ``hooks``) into the new, empty ``h5file``, then its ``digest`` attribute."""
    h5file.attrs["format"] = np.bytes_(FORMAT)  # fixed-length: kept in the object header
    h5file.attrs["format_version"] = np.int64(FORMAT_VERSION)
    written = _Written()
    _json_dataset(h5file, ".network_spec", content["spec"], written)
    _json_dataset(h5file, ".meta", content["meta"], written)
    if content["iteration_table"] is not None:
        written.dataset(h5file, "", HISTORY_DATASET, content["iteration_table"])
    for name in ("parameters", "buffers", "optimiser", "hooks"):
        _write_tree(written.group(h5file, "", name), content[name], written, f"{name}/")
    h5file.attrs["digest"] = np.bytes_(_digest(h5file, written))


class _Written:
    """What a save wrote, kept as it goes: ``{path: array}`` of every dataset and the group paths.

    The file's digest is taken from these arrays, which are exactly what the datasets hold, instead of
    visiting the new file and reading every dataset back (h5py's per-object cost was a third of a
    checkpoint's time on W1: 6.7 of 20 ms, issue 22). The reader still digests the file itself.
    """

    def __init__(self):
        self.datasets: dict = {}
        self.groups: list[str] = []

    def dataset(self, group, where: str, name: str, data) -> None:
        data = np.asarray(data)
        group.create_dataset(name, data=data)
        self.datasets[f"{where}{name}"] = data

    def group(self, parent, where: str, name: str):
        self.groups.append(f"{where}{name}")
        return parent.create_group(name)


def _json_dataset(group, name: str, value, written: _Written, where: str = "") -> None:
    # JSON as UTF-8 bytes in a plain dataset: a variable-length string would live in HDF5's global
    # heap, whose damaged object sizes make HDF5 loop forever (the hang of issue 14).
    written.dataset(group, where, name, np.frombuffer(json.dumps(value).encode("utf-8"), np.uint8))


def _is_array(value) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, np.generic)


def _key(key) -> str:
    key = str(key)
    if "/" in key or key in (".", "") or key.startswith("."):
        raise CheckpointError(f"cannot store state key {key!r}: keys may not contain '/' or start with '.'")
    return key


def _plain_tree(tree: dict):
    """``tree`` as JSON-ready values (keys as the group names would be) when it holds no array at any
    depth, else None. Such a subtree is kept in its parent's ``.values`` instead of a group of its
    own: the reader gives back the same dict either way, and every HDF5 object costs ~0.1 ms to
    write (a hook's state was a group and a dataset; issue 22)."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            value = _plain_tree(value)
            if value is None:
                return None
        elif _is_array(value):
            return None
        elif isinstance(value, np.generic):
            value = value.item()
        out[_key(key)] = value
    return out


def _write_tree(group, tree: dict, written: _Written, where: str) -> None:
    """Write ``tree`` into ``group``, whose path in the file is ``where`` (ending in "/")."""
    values = {}
    for key, value in tree.items():
        key = _key(key)
        if isinstance(value, dict):
            plain = _plain_tree(value)
            if plain is not None:
                values[key] = plain
            else:
                _write_tree(written.group(group, where, key), value, written, f"{where}{key}/")
        elif _is_array(value):
            written.dataset(group, where, key, to_host(value))
        else:
            values[key] = value.item() if isinstance(value, np.generic) else value
    _json_dataset(group, ".values", values, written, where)


def _digest(h5file, written: _Written) -> str:
    """The digest of a file just written: every dataset and group as written, and the attributes
    (only the root's: nothing else here has any)."""
    attributes = {("/", k): v for k, v in h5file.attrs.items()}
    return digest_of(written.datasets, attributes, groups=written.groups)


def history_table(records):
    """The iteration history ``[[iteration, {name: float}], ...]`` as ``(names, table)``: a float64
    array of one row per record, the iteration then the values in ``names`` order; None unless every
    record has the same names, only float values and an int iteration below 2**53 (it then stays JSON).

    As JSON the 4096-record history was a quarter of a W1 checkpoint's time (5.9 of 24 ms, issue 22);
    this takes ~1.3 ms (C-level passes over the records, no Python loop of our own).
    """
    if not isinstance(records, list) or not records:
        return None
    try:
        steps, dicts = zip(*records, strict=True)
    except (TypeError, ValueError):  # not all pairs
        return None
    if set(map(type, steps)) != {int} or set(map(type, dicts)) != {dict}:
        return None
    names = tuple(dicts[0])
    if not all(type(n) is str for n in names) or not all(tuple(d) == names for d in dicts):
        return None
    if not _FLOATS.issuperset(map(type, chain.from_iterable(map(dict.values, dicts)))):
        return None
    if not 0 <= min(steps) <= max(steps) < 2**53:  # exact as float64
        return None
    table = np.empty((len(dicts), 1 + len(names)), np.float64)
    table[:, 0] = steps
    table[:, 1:] = np.fromiter(chain.from_iterable(map(dict.values, dicts)), np.float64).reshape(
        len(dicts), len(names)
    )
    return list(names), table
