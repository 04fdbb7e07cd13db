"""Draw the application icon (``installer/sigma-studio.ico``) from the shapes of the SVG icon.

Pillow cannot read SVG, and the icon is two shapes (a rounded blue square and a white sigma stroke), so
this script draws them at 256 px and lets Pillow write every size Windows asks for into one .ico.
Run it again only when the SVG changes: ``python installer/make_icon.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]
BLUE = (0x00, 0x72, 0xB2, 255)
WHITE = (255, 255, 255, 255)


def draw(size: int = 256) -> Image.Image:
    """The icon as an RGBA image of ``size`` x ``size`` pixels (the SVG's 64-unit box, scaled)."""
    s = size / 64.0
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([2 * s, 2 * s, 62 * s, 62 * s], radius=12 * s, fill=BLUE)
    points = [(46 * s, 14 * s), (18 * s, 14 * s), (34 * s, 32 * s), (18 * s, 50 * s), (46 * s, 50 * s)]
    width = round(6 * s)
    d.line(points, fill=WHITE, width=width, joint="curve")
    r = width / 2  # round line caps, as the SVG's stroke-linecap="round"
    for x, y in (points[0], points[-1]):
        d.ellipse([x - r, y - r, x + r, y + r], fill=WHITE)
    return img


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else Path(__file__).with_name("sigma-studio.ico")
    draw(256).save(out, format="ICO", sizes=SIZES)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
