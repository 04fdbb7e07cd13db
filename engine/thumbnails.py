"""Thumbnails of the bundled examples (``engine.templates.EXAMPLES``): small RGB pictures drawn from
each example's own data, for the start page and the toolbar.

Each function returns a ``uint8`` array ``(H, W, 3)``; they read bundled files, so call them only when
a thumbnail is shown.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["cat", "chelsea", "digits", "shapes", "iris", "text", "xor"]

_SIDE = 96


def _rgb(image: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip(image, 0.0, 1.0) * 255.0 + 0.5, dtype=np.uint8)


def cat() -> np.ndarray:
    from .data import samples

    return _rgb(samples.cat())


def chelsea() -> np.ndarray:
    from .data import samples

    return _rgb(samples.chelsea())


def digits() -> np.ndarray:
    from .data import samples

    data = samples.digits(flat=True)
    tiles = np.asarray(data["inputs"][:16], dtype=np.float32).reshape(16, 8, 8)
    sheet = tiles.reshape(4, 4, 8, 8).transpose(0, 2, 1, 3).reshape(32, 32)
    grey = np.asarray(255.0 - sheet / max(float(sheet.max()), 1e-6) * 255.0, dtype=np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def shapes() -> np.ndarray:
    """A 2x2 sheet of the first pictures of the shapes archive (circle, square, triangle, circle)."""
    from .data import samples

    with zipfile.ZipFile(samples.resource_path("shapes.zip")) as archive:
        names = [f"shapes/{k}/{k}_000.png" for k in ("circle", "square", "triangle")]
        names.append("shapes/circle/circle_001.png")
        tiles = [np.asarray(Image.open(io.BytesIO(archive.read(n))).convert("RGB")) for n in names]
    top, bottom = np.concatenate(tiles[:2], axis=1), np.concatenate(tiles[2:], axis=1)
    return np.concatenate([top, bottom], axis=0)


def iris() -> np.ndarray:
    """The Iris table as a scatter of petal length against petal width, one colour per species."""
    from .data import samples

    rows = samples.resource_path("iris.csv").read_text(encoding="utf-8").splitlines()[1:]
    colours = {"setosa": (220, 90, 60), "versicolor": (60, 150, 90), "virginica": (70, 100, 210)}
    img = Image.new("RGB", (_SIDE, _SIDE), (250, 250, 250))
    draw = ImageDraw.Draw(img)
    for row in rows:
        species, *values = row.split(",")
        length, width = float(values[2]), float(values[3])
        x = 8 + (length - 1.0) / 6.0 * (_SIDE - 16)
        y = _SIDE - 8 - (width - 0.1) / 2.5 * (_SIDE - 16)
        draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colours.get(species, (0, 0, 0)))
    return np.asarray(img)


def text() -> np.ndarray:
    """The first lines of the verse corpus, typed on a page."""
    from .data import samples

    lines = samples.resource_path("verse.txt").read_text(encoding="utf-8").splitlines()
    img = Image.new("RGB", (_SIDE * 2, _SIDE), (252, 250, 242))
    draw = ImageDraw.Draw(img)
    for k, line in enumerate([ln for ln in lines if ln.strip()][2:9]):
        draw.text((6, 6 + 12 * k), line[:34], fill=(40, 40, 40))
    return np.asarray(img)


def xor() -> np.ndarray:
    """The XOR truth table as a 2x2 checkerboard: (0,0) and (1,1) one class, the others the second."""
    a, b = np.array([230, 120, 60], np.uint8), np.array([60, 120, 220], np.uint8)
    board = np.empty((2, 2, 3), np.uint8)
    board[0, 0] = board[1, 1] = a
    board[0, 1] = board[1, 0] = b
    return np.repeat(np.repeat(board, _SIDE // 2, axis=0), _SIDE // 2, axis=1)
