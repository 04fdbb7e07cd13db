"""Draw the "shapes" image set (``shapes.zip``): 24x24 RGB pictures of circles, squares and triangles.

Run from the repository root: ``python resources/samples/make_shapes.py``. The archive holds one folder
per class (``circle/``, ``square/``, ``triangle/``) with 150 PNG files each, as a user's own image
folder would: the "Shapes from a folder" example imports it through the ordinary folder importer.
Shapes vary in size, place, rotation and colour (dark ink on light paper of any tint), so the class is
the outline and nothing else. Seeded: the same archive every time (up to Pillow's anti-aliasing).
"""

from __future__ import annotations

import io
import math
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 24
SCALE = 4
PER_CLASS = 150
CLASSES = ("circle", "square", "triangle")


def draw_shape(kind: str, rng: np.random.Generator) -> Image.Image:
    """One ``SIZE`` x ``SIZE`` RGB picture of ``kind``, drawn at 4x and downsampled (smooth edges)."""
    big = SIZE * SCALE
    background = tuple(int(v) for v in rng.integers(225, 256, 3))  # a light paper colour
    img = Image.new("RGB", (big, big), background)
    draw = ImageDraw.Draw(img)
    r = rng.uniform(0.28, 0.42) * big
    cx, cy = rng.uniform(r + 4, big - r - 4, 2)
    fill = tuple(int(v) for v in rng.integers(0, 170, 3))  # a darker ink of any hue
    if kind == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    else:
        corners = 4 if kind == "square" else 3
        turn = rng.uniform(0, 2 * math.pi)
        points = [
            (
                cx + r * math.cos(turn + 2 * math.pi * k / corners),
                cy + r * math.sin(turn + 2 * math.pi * k / corners),
            )
            for k in range(corners)
        ]
        draw.polygon(points, fill=fill)
    return img.resize((SIZE, SIZE), Image.LANCZOS)


def make_archive(path: Path, seed: int = 18) -> None:
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for kind in CLASSES:
            for i in range(PER_CLASS):
                buf = io.BytesIO()
                draw_shape(kind, rng).save(buf, "PNG", optimize=True)
                info = zipfile.ZipInfo(f"shapes/{kind}/{kind}_{i:03d}.png", date_time=(2026, 12, 2, 0, 0, 0))
                archive.writestr(info, buf.getvalue(), zipfile.ZIP_DEFLATED)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("shapes.zip")
    make_archive(out)
    print(f"wrote {out}")
