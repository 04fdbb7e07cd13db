"""Property tests of the binary importers (images, NPY, NPZ, HDF5, IDX, zip/tar archives): generated
files with odd header fields, then bit flips, truncation and overwrites, end within a time and memory
limit in a dataset or a ``DataImportError``. Budgets are small (16 MiB memory, 64 MiB disk)."""

from __future__ import annotations

import gzip
import io
import random
import struct
import tarfile
import zipfile
import zlib

import h5py
import numpy as np
import pytest
from fuzz_targets import ALLOWED, DISK_BUDGET, folder_bytes, import_file
from hostile import npy_header
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tests.fuzzbox import Sandbox, Tally, family_sizes, fuzz_settings, mutated

on_error = st.fixed_dictionaries({}, optional={"on_error": st.sampled_from(["raise", "skip"])})


def _maybe_mutated(draw, data: bytes) -> bytes:
    return draw(mutated(data)) if draw(st.integers(0, 3)) else data


# ---------------------------------------------------------------------------------------- images
def _png_size_patch(data: bytes, width: int, height: int) -> bytes:
    """Rewrite a PNG's IHDR size (with a correct CRC, so only the declared size lies)."""
    ihdr = bytearray(data[12:29])
    ihdr[4:12] = struct.pack(">II", width, height)
    return data[:12] + bytes(ihdr) + struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF) + data[33:]


@st.composite
def images(draw) -> tuple[str, bytes]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    fmt = draw(st.sampled_from(["PNG", "PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"]))
    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "P", "1", "I;16"]))
    h, w = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img = Image.fromarray(pixels, "RGB").convert(mode if mode != "I;16" else "I")
    if mode == "I;16" or (fmt == "JPEG" and mode not in ("L", "RGB")):
        img = img.convert("L")
    buf = io.BytesIO()
    img.save(buf, fmt)
    data = buf.getvalue()
    if fmt == "PNG" and draw(st.integers(0, 3)) == 0:
        data = _png_size_patch(data, draw(st.integers(0, 2**31 - 1)), draw(st.integers(0, 2**31 - 1)))
    return "." + fmt.lower().replace("jpeg", "jpg"), _maybe_mutated(draw, data)


# ----------------------------------------------------------------------------------- NPY and NPZ
DESCRS = ["<f4", "<f8", "<i8", "|u1", "|b1", ">f4", "<c8", "|O", "|V8", "<U3", "[('a', '<f4')]", "<m8", "zz"]


@st.composite
def npy_files(draw) -> bytes:
    if draw(st.booleans()):
        rng = np.random.default_rng(draw(st.integers(0, 2**32)))
        shape = tuple(draw(st.lists(st.integers(0, 6), min_size=0, max_size=4)))
        dtype = draw(st.sampled_from(["f4", "f8", "i2", "u1", "?", "U2"]))
        array = rng.normal(size=shape).astype(dtype) if dtype != "U2" else np.full(shape, "ab")
        buf = io.BytesIO()
        np.save(buf, array)
        return _maybe_mutated(draw, buf.getvalue())
    # A hand-made header with odd fields and some data bytes after it.
    shape = tuple(draw(st.lists(st.integers(-2, 2**40), min_size=0, max_size=5)))
    head = npy_header(shape, "<f4", draw(st.booleans()))
    descr = draw(st.sampled_from(DESCRS))
    head = head.replace(b"'<f4'", descr.encode() if descr.startswith("[") else repr(descr).encode())
    return _maybe_mutated(draw, head + bytes(draw(st.integers(0, 512))))


@st.composite
def npz_files(draw) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))) as zf:
        names = draw(
            st.lists(st.sampled_from(["x", "y", "inputs", "labels", "data", "z"]), max_size=3, unique=True)
        )
        n = draw(st.integers(0, 40))
        for name in names:
            if draw(st.integers(0, 3)) == 0:
                zf.writestr(f"{name}.npy", draw(npy_files()))
            else:
                rng = np.random.default_rng(len(name) + n)
                array = rng.integers(0, 3, n) if name in ("y", "labels") else rng.normal(size=(n, 3))
                member = io.BytesIO()
                np.save(member, array)
                zf.writestr(f"{name}.npy", member.getvalue())
    return _maybe_mutated(draw, buf.getvalue())


# ------------------------------------------------------------------------------------------ HDF5
@st.composite
def hdf5_files(draw) -> bytes:
    buf = io.BytesIO()
    n = draw(st.integers(0, 30))
    with h5py.File(buf, "w") as f:
        kind = draw(
            st.sampled_from(["plain", "plain", "chunked", "empty", "scalar", "compound", "strings", "huge"])
        )
        group = f.require_group("data") if draw(st.booleans()) else f
        x = np.arange(n * 4, dtype="f4").reshape(n, 4)
        if kind == "plain":
            group["x"] = x
        elif kind == "chunked":
            group.create_dataset(
                "x", data=x, chunks=True, compression=draw(st.sampled_from([None, "gzip", "lzf"]))
            )
        elif kind == "empty":
            group.create_dataset("x", data=h5py.Empty("f4"))
        elif kind == "scalar":
            group["x"] = 1.5
        elif kind == "compound":
            group["x"] = np.zeros(n, dtype=[("a", "f4"), ("b", "i4")])
        elif kind == "strings":
            group["x"] = np.array([b"ab"] * n)
        else:
            group.create_dataset("x", shape=(draw(st.integers(16, 2**40)), 4), dtype="f4", chunks=(16, 4))
        labels = draw(st.sampled_from(["none", "ints", "fixed", "vlen"]))
        if labels == "ints":
            group["y"] = np.arange(n) % 3
        elif labels == "fixed":
            group["y"] = np.array([b"cat", b"dog"] * n)[:n]
        elif labels == "vlen":
            group["y"] = (["cat", "dog"] * n)[:n]  # variable-length: in the global heap
        if draw(st.booleans()):
            f["loop"] = h5py.SoftLink("/loop")
            f["ext"] = h5py.ExternalLink("elsewhere.h5", "/x")
        if draw(st.booleans()):
            f.attrs["note"] = "x" * draw(st.integers(0, 100))
    return _maybe_mutated(draw, buf.getvalue())


# ------------------------------------------------------------------------------------------- IDX
@st.composite
def idx_files(draw) -> bytes:
    code = draw(st.sampled_from([0x08, 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x01]))
    if draw(st.booleans()):
        dims = [draw(st.integers(0, 8)), *draw(st.lists(st.integers(0, 6), min_size=0, max_size=3))]
    else:
        dims = draw(st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=9))
    head = bytes([0, 0, code, len(dims) % 256]) + b"".join(struct.pack(">I", d) for d in dims)
    body = bytes(
        np.random.default_rng(len(dims)).integers(0, 256, draw(st.integers(0, 2048)), dtype=np.uint8)
    )
    data = head + body
    if draw(st.booleans()):
        data = gzip.compress(data, 6, mtime=0)  # fixed time: the same draw gives the same bytes
    return _maybe_mutated(draw, data)


# -------------------------------------------------------------------------------------- archives
ENTRY_NAMES = [
    "a.csv",
    "data/b.csv",
    "../evil.csv",
    "/abs.csv",
    "C:\\\\win.csv",
    "d/" * 40 + "deep.csv",
    "cats/1.png",
    "dogs/2.png",
    "x" * 300 + ".csv",
    "inner.zip",
    "ünï/c.csv",
]


@st.composite
def archives(draw) -> tuple[str, bytes]:
    rng = random.Random(draw(st.integers(0, 2**32)))
    png = io.BytesIO()
    Image.fromarray(np.full((4, 4), 7, np.uint8)).save(png, "PNG")
    entries = []
    for _ in range(draw(st.integers(0, 5))):
        name = rng.choice(ENTRY_NAMES)
        if name.endswith(".png"):
            body = png.getvalue()
        elif name.endswith(".zip"):
            inner = io.BytesIO()
            with zipfile.ZipFile(inner, "w") as zf:
                zf.writestr("in.csv", "a,label\n1,x\n2,y\n")
            body = inner.getvalue()
        else:
            body = "a,label\n" + "".join(
                f"{rng.random()},{rng.choice('xy')}\n" for _ in range(rng.randint(0, 5))
            )
            body = body.encode()
        entries.append((name, body))
    buf = io.BytesIO()
    kind = draw(st.sampled_from(["zip", "tar", "tar.gz"]))
    if kind == "zip":
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, body in entries:
                zf.writestr(name, body)
    else:
        with tarfile.open(fileobj=buf, mode="w") as tf:
            for name, body in entries:
                info = tarfile.TarInfo(name)
                info.size = len(body)
                tf.addfile(info, io.BytesIO(body))
            if draw(st.booleans()):
                link = tarfile.TarInfo("link.csv")
                link.type = draw(st.sampled_from([tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE]))
                link.linkname = rng.choice(["a.csv", "../../etc/passwd", "/etc/passwd", "missing.csv"])
                tf.addfile(link)
    data = buf.getvalue()
    if kind == "tar.gz":
        data = gzip.compress(data, 6, mtime=0)  # tarfile's gzip stamps the time: flaky draws
    return "." + kind, _maybe_mutated(draw, data)


# ------------------------------------------------------------------------------------------ tests
@pytest.fixture(scope="module")
def box(tmp_path_factory):
    sandbox = Sandbox(import_file)
    yield sandbox, tmp_path_factory.mktemp("fuzz-binary")
    sandbox.close()


def _family(box, cases: int, name: str, files, options=on_error):
    sandbox, folder = box
    tally = Tally(name, ALLOWED)
    cache = folder / f"cache-{name}"
    cache.mkdir(exist_ok=True)

    @fuzz_settings(cases)
    @given(made=files, opts=options)
    def case(made, opts):
        suffix, data = made
        path = folder / f"case{suffix}"
        path.write_bytes(data)
        outcome = sandbox.run(str(path), str(cache), opts)
        if outcome.seconds > 2:  # kept for a look: slow but within the limit
            kept = folder / f"slow-{name}-{tally.total}{suffix}"
            kept.write_bytes(data)
            print(f"slow case ({outcome.seconds:.1f} s) kept as {kept}")
        tally.check(outcome, f"{suffix} {opts} {data[:120]!r}")
        assert folder_bytes(cache) <= DISK_BUDGET

    case()
    print(tally.summary())
    assert tally.total >= cases


@pytest.mark.parametrize("cases", family_sizes())
def test_image_fuzz(box, cases):
    _family(box, cases, "images", images())


@pytest.mark.parametrize("cases", family_sizes())
def test_npy_fuzz(box, cases):
    _family(box, cases, "npy", npy_files().map(lambda d: (".npy", d)))


@pytest.mark.parametrize("cases", family_sizes())
def test_npz_fuzz(box, cases):
    _family(box, cases, "npz", npz_files().map(lambda d: (".npz", d)))


@pytest.mark.parametrize("cases", family_sizes())
def test_hdf5_fuzz(box, cases):
    _family(box, cases, "hdf5", hdf5_files().map(lambda d: (".h5", d)))


@pytest.mark.parametrize("cases", family_sizes())
def test_idx_fuzz(box, cases):
    _family(box, cases, "idx", idx_files().map(lambda d: ("-images-idx3-ubyte", d)))


@pytest.mark.parametrize("cases", family_sizes())
def test_archive_fuzz(box, cases):
    _family(box, cases, "archives", archives())
