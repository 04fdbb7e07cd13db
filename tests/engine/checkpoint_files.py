"""Damaged checkpoint files shared by the engine's and the studio's tests."""

import json

import h5py
import numpy as np


def as_version_1(path) -> None:
    """Rewrite a checkpoint in place in the version-1 layout (JSON in variable-length string
    attributes, which HDF5 keeps in its global heap), as files saved before format 2 are."""
    as_version_2(path)  # the iteration history as JSON too
    with h5py.File(path, "r+") as f:
        for name in (".network_spec", ".meta"):
            f.attrs[name[1:]] = f[name][()].tobytes().decode()  # a str: variable-length
            del f[name]

        def move(name, obj):
            if isinstance(obj, h5py.Group) and ".values" in obj:
                values.append(obj)

        values = []
        f.visititems(move)
        for group in values:
            group.attrs["values"] = group[".values"][()].tobytes().decode()
            del group[".values"]
        f.attrs["format"] = "sigma-checkpoint"
        f.attrs["format_version"] = 1
        del f.attrs["digest"]
        datasets = {}
        f.visititems(lambda n, o: datasets.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
        from engine.checkpoint_reader import digest_of

        f.attrs["digest"] = digest_of(datasets, {}, version=1)
    json.loads(h5py.File(path, "r").attrs["meta"])  # still a readable version-1 file


def as_version_2(path) -> None:
    """Rewrite a checkpoint in place in the version-2 layout, as files saved before format 3 are:
    the iteration history as JSON in ``.meta`` (no ``/.iteration_history`` table)."""
    from engine.checkpoint_reader import digest_of

    with h5py.File(path, "r+") as f:
        meta = json.loads(f["/.meta"][()].tobytes())
        names = meta.pop("iteration_history_columns", None)
        if names is not None:
            table = f["/.iteration_history"][()]
            meta["iteration_history"] = [[int(r[0]), dict(zip(names, r[1:]))] for r in table.tolist()]
            del f["/.iteration_history"]
        del f["/.meta"]
        f.create_dataset(".meta", data=np.frombuffer(json.dumps(meta).encode(), np.uint8))
        f.attrs["format_version"] = np.int64(2)
        datasets, groups = {}, []
        f.visititems(
            lambda n, o: datasets.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else groups.append(n)
        )
        attributes = {("/", k): v for k, v in f.attrs.items()}
        f.attrs["digest"] = np.bytes_(digest_of(datasets, attributes, version=2, groups=groups))


def hang_in_global_heap(path) -> None:
    """Flip the bit that made ``sigma info`` hang (issue 14): in the size of the first object of the
    file's global heap collection. Reading any variable-length string then never returns."""
    data = bytearray(open(path, "rb").read())
    heap = data.find(b"GCOL")
    assert heap > 0, "no global heap in this file"
    data[heap + 16 + 8 + 1] ^= 0x08  # collection header (16 bytes), object index/refs (8), size
    open(path, "wb").write(bytes(data))


__all__ = ["as_version_1", "as_version_2", "hang_in_global_heap", "np"]
