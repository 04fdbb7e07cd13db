"""Bundled sample datasets: handwritten digits, the cat and Chelsea to paint, XOR, two small text corpora,
the Iris table and a folder of shape pictures.

The files live in ``resources/samples/`` at the repository root (next to ``engine/``). Set the
environment variable ``SIGMA_RESOURCES`` to a folder holding ``samples/`` to use another copy (an
installed or frozen build).
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
from PIL import Image

from engine.data.dataset import Dataset
from engine.data.errors import ImportContext
from engine.data.readers.text import read_text, text_dataset
from engine.data.storage import default_memory_budget

__all__ = [
    "resource_path",
    "digits",
    "write_digit_images",
    "cat",
    "cat_dataset",
    "chelsea",
    "chelsea_dataset",
    "picture",
    "picture_dataset",
    "coordinate_dataset",
    "xor",
    "text",
    "verse",
    "FILES",
]

#: Samples that are files read by the ordinary importer (``engine.data.load``), by sample name.
FILES = {"iris": "iris.csv", "shapes": "shapes.zip"}

#: Longest side of a picture to paint; larger pictures are scaled down (pixels are training records).
MAX_PAINT_SIDE = 256


def _candidates(name: str) -> list[Path]:
    from engine.resources import resource_roots

    return [root / "samples" / name for root in resource_roots()]


def resource_path(name: str) -> Path:
    """Return the path of a bundled sample file.

    Parameters
    ----------
    name : str
        File name inside ``resources/samples/`` (e.g. ``"digits.csv.gz"``).

    Raises
    ------
    FileNotFoundError
        Listing every place looked at.
    """
    tried = _candidates(name)
    for path in tried:
        if path.is_file():
            return path
    raise FileNotFoundError(f"sample file {name!r} not found; looked in: {', '.join(str(p) for p in tried)}")


def digits(flat: bool = True) -> Dataset:
    """The 8x8 handwritten digits (1,797 images, 10 classes).

    Parameters
    ----------
    flat : bool
        Records of shape ``(64,)`` when true, ``(8, 8, 1)`` images otherwise.

    Returns
    -------
    Dataset
        ``inputs`` float32 ``(1797, 64)`` in [0, 1] (the 0..16 counts divided by 16), ``targets``
        int64 ``(1797,)``, classes ``"0"``..``"9"``.

    Notes
    -----
    UCI Optical Recognition of Handwritten Digits (E. Alpaydin, C. Kaynak; CC BY 4.0), in the copy
    scikit-learn ships (BSD-3-Clause). See ``resources/samples/README.md``.
    """
    path = resource_path("digits.csv.gz")
    with gzip.open(path, "rt", newline="") as f:
        table = np.array([[float(v) for v in row] for row in csv.reader(f) if row], dtype=np.float32)
    inputs = table[:, :64] / np.float32(16.0)
    if not flat:
        inputs = inputs.reshape(-1, 8, 8, 1)
    targets = table[:, 64].astype(np.int64)
    return Dataset(
        {"inputs": inputs, "targets": targets},
        [str(i) for i in range(10)],
        meta={"kind": "sample", "source": str(path), "image_sizes": {"8x8": len(targets)}},
    )


def write_digit_images(indices, folder=".") -> list[Path]:
    """Write digits samples as 8x8 grayscale PNG files ``digit<i>.png``, inputs to try ``sigma predict`` on.

    Parameters
    ----------
    indices : iterable of int
        Sample numbers in :func:`digits` (0..1796).
    folder : str or Path
        Where to write (created if missing). A file of the same name already there is never
        replaced: :class:`FileExistsError` names it, and nothing is written.

    Returns
    -------
    list of Path
        The files written, in the order of ``indices``.
    """
    data = digits()
    inputs = np.asarray(data["inputs"])
    indices = [int(i) for i in indices]
    for i in indices:  # all checked before any file is written
        if not 0 <= i < len(inputs):
            last = len(inputs) - 1
            raise IndexError(f"digits sample {i} does not exist: there are {len(inputs)} (0..{last})")
    folder = Path(folder)
    for i in indices:
        if (folder / f"digit{i}.png").exists():
            raise FileExistsError(f"{folder / f'digit{i}.png'} already exists; nothing was written")
    written = []
    folder.mkdir(parents=True, exist_ok=True)
    for i in indices:
        pixels = np.round(inputs[i].reshape(8, 8) * 255).astype(np.uint8)
        path = folder / f"digit{i}.png"
        Image.fromarray(pixels).save(path)  # 2-D uint8: an 8-bit grayscale PNG
        written.append(path)
    return written


def cat() -> np.ndarray:
    """The project's cartoon cat: float32 array ``(128, 128, 3)`` of RGB in [0, 1].

    Drawn by ``resources/samples/make_cat.py``; the PNG is part of the project (same license).
    """
    with Image.open(resource_path("cat.png")) as img:
        return np.asarray(img.convert("RGB"), dtype=np.float32) / np.float32(255.0)


def coordinate_dataset(image: np.ndarray) -> Dataset:
    """Turn an image into a "paint the picture" regression dataset.

    Parameters
    ----------
    image : ndarray, shape (H, W, C)

    Returns
    -------
    Dataset
        ``inputs`` float32 ``(H*W, 2)``: ``(x, y)`` of each pixel centre in [-1, 1] (x to the right,
        y downwards, row-major order); ``targets`` float32 ``(H*W, C)``: the pixel values.
        ``meta["image_shape"]`` is ``[H, W, C]``; reshape predictions with it.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    h, w, c = image.shape
    ys = np.linspace(-1.0, 1.0, h, dtype=np.float32)
    xs = np.linspace(-1.0, 1.0, w, dtype=np.float32)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    inputs = np.stack([xx.ravel(), yy.ravel()], axis=1)
    return Dataset(
        {"inputs": inputs, "targets": image.reshape(h * w, c)},
        None,
        meta={"kind": "coordinates", "image_shape": [h, w, c]},
    )


def cat_dataset() -> Dataset:
    """:func:`coordinate_dataset` of :func:`cat`; the image itself is ``dataset.image``."""
    image = cat()
    ds = coordinate_dataset(image)
    ds.image = image
    ds.meta["source"] = str(resource_path("cat.png"))
    return ds


def picture(path, max_side: int = MAX_PAINT_SIDE) -> np.ndarray:
    """Any image file as a float32 array ``(H, W, 3)`` of RGB in [0, 1], its longer side at most
    ``max_side`` pixels (scaled down, aspect kept; transparency over white).

    Raises
    ------
    DataImportError
        The file is not an image Pillow can read (the message names the file).
    """
    from engine.data.errors import DataImportError
    from engine.data.readers.images import decode_image

    try:  # the header only: the size decides how large a decode to ask for
        with Image.open(path) as img:
            h, w = img.height, img.width
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataImportError(f"not a readable image ({exc})", str(path)) from exc
    size = None
    if max(h, w) > max_side:
        k = max_side / max(h, w)
        size = (max(1, round(h * k)), max(1, round(w * k)))
    pixels, _ = decode_image(path, "rgb", size)
    return pixels


def picture_dataset(path, max_side: int = MAX_PAINT_SIDE) -> Dataset:
    """:func:`coordinate_dataset` of :func:`picture`: paint any image file."""
    image = picture(path, max_side)
    ds = coordinate_dataset(image)
    ds.image = image
    ds.meta["source"] = str(path)
    return ds


def chelsea() -> np.ndarray:
    """Chelsea the cat, the photograph from scikit-image, at 225x150: float32 ``(150, 225, 3)`` in [0, 1].

    The bundled ``chelsea.png`` is scikit-image's 451x300 original (CC0, see the samples README);
    halving it keeps fur and whiskers while the canvas stays twice the cartoon cat's.
    """
    return picture(resource_path("chelsea.png"), max_side=225)


def chelsea_dataset() -> Dataset:
    """:func:`coordinate_dataset` of :func:`chelsea`; the image itself is ``dataset.image``."""
    image = chelsea()
    ds = coordinate_dataset(image)
    ds.image = image
    ds.meta["source"] = str(resource_path("chelsea.png"))
    return ds


def xor(kind: str = "class") -> Dataset:
    """The four XOR records.

    Parameters
    ----------
    kind : {"class", "regression"}
        Int64 class targets ``(4,)`` with classes ``"0"``, ``"1"``, or float32 ``(4, 1)`` targets.

    Returns
    -------
    Dataset
        ``inputs`` float32 ``(4, 2)``.
    """
    inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    labels = np.array([0, 1, 1, 0], dtype=np.int64)
    if kind == "class":
        return Dataset({"inputs": inputs, "targets": labels}, ["0", "1"], meta={"kind": "sample"})
    if kind == "regression":
        return Dataset(
            {"inputs": inputs, "targets": labels[:, None].astype(np.float32)}, None, meta={"kind": "sample"}
        )
    raise ValueError(f"Invalid value for `kind`. Expected 'class' or 'regression'. Received: {kind!r}")


def text(sequence_length: int = 32, stride: int = 4) -> Dataset:
    """A short text written for the project, as next-character windows.

    Parameters
    ----------
    sequence_length : int
    stride : int

    Returns
    -------
    Dataset
        ``inputs`` float32 ``(N, sequence_length)`` character indices, ``targets`` int64 ``(N,
        sequence_length)`` (the next characters); ``vocabulary``/``classes`` are the characters and
        ``meta["text"]`` the whole corpus.
    """
    return _text_file("corpus.txt", sequence_length, stride)


def verse(sequence_length: int = 32, stride: int = 3) -> Dataset:
    """Public-domain verse and prose (Lincoln, Shakespeare, Blake, Wordsworth, Carroll, Dickinson; about
    7,000 characters) as next-character windows, like :func:`text`."""
    return _text_file("verse.txt", sequence_length, stride)


def _text_file(name: str, sequence_length: int, stride: int) -> Dataset:
    path = resource_path(name)
    corpus = read_text(path)
    ds = text_dataset(
        corpus,
        ImportContext(),
        sequence_length=sequence_length,
        stride=stride,
        memory_budget=default_memory_budget(),
        source=str(path),
    )
    ds.meta.update({"source": str(path), "text": corpus})
    return ds
