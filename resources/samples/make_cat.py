"""Draw the project's cartoon cat (``cat.png``, 128x128 RGB) for the "paint the cat" demo.

Run from the repository root: ``python resources/samples/make_cat.py``. The picture is drawn at 4x
and downsampled, which gives smooth edges. The committed PNG is the reference; Pillow versions may
differ in the last bit of a few edge pixels.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 128
SCALE = 4

BACKGROUND = (176, 222, 242)
FUR = (243, 160, 72)
FUR_DARK = (206, 112, 40)
EAR_INSIDE = (250, 190, 200)
MUZZLE = (255, 240, 222)
EYE = (60, 140, 70)
PUPIL = (20, 24, 28)
NOSE = (232, 96, 128)
LINE = (70, 40, 30)


def draw_cat(size: int = SIZE) -> Image.Image:
    """Return the cat as an RGB image of ``size`` x ``size`` pixels."""
    big = size * SCALE
    img = Image.new("RGB", (big, big), BACKGROUND)
    d = ImageDraw.Draw(img)

    def box(x0, y0, x1, y1):
        # Coordinates are written for a 128-pixel canvas.
        k = big / 128
        return [x0 * k, y0 * k, x1 * k, y1 * k]

    def pts(*xy):
        k = big / 128
        return [(x * k, y * k) for x, y in xy]

    w = max(1, big // 128)
    # Ears behind the head, with pink insides.
    d.polygon(pts((22, 58), (30, 10), (58, 36)), fill=FUR, outline=LINE, width=2 * w)
    d.polygon(pts((106, 58), (98, 10), (70, 36)), fill=FUR, outline=LINE, width=2 * w)
    d.polygon(pts((30, 50), (33, 21), (50, 38)), fill=EAR_INSIDE)
    d.polygon(pts((98, 50), (95, 21), (78, 38)), fill=EAR_INSIDE)
    # Head.
    d.ellipse(box(14, 28, 114, 118), fill=FUR, outline=LINE, width=2 * w)
    # Tabby stripes on the forehead.
    for x in (54, 64, 74):
        d.polygon(pts((x - 4, 31), (x + 4, 31), (x, 46)), fill=FUR_DARK)
    # Cheek stripes.
    d.line(pts((16, 74), (30, 76)), fill=FUR_DARK, width=3 * w)
    d.line(pts((17, 84), (29, 84)), fill=FUR_DARK, width=3 * w)
    d.line(pts((112, 74), (98, 76)), fill=FUR_DARK, width=3 * w)
    d.line(pts((111, 84), (99, 84)), fill=FUR_DARK, width=3 * w)
    # Muzzle.
    d.ellipse(box(40, 78, 66, 104), fill=MUZZLE)
    d.ellipse(box(62, 78, 88, 104), fill=MUZZLE)
    # Eyes: green irises, round pupils, a highlight each.
    for cx in (44, 84):
        d.ellipse(box(cx - 11, 56, cx + 11, 78), fill=(255, 255, 255), outline=LINE, width=w)
        d.ellipse(box(cx - 8, 59, cx + 8, 75), fill=EYE)
        d.ellipse(box(cx - 4, 61, cx + 4, 73), fill=PUPIL)
        d.ellipse(box(cx + 1, 62, cx + 5, 66), fill=(255, 255, 255))
    # Nose and smiling mouth.
    d.polygon(pts((58, 82), (70, 82), (64, 89)), fill=NOSE, outline=LINE)
    d.line(pts((64, 89), (64, 94)), fill=LINE, width=2 * w)
    d.arc(box(54, 88, 64, 100), start=0, end=180, fill=LINE, width=2 * w)
    d.arc(box(64, 88, 74, 100), start=0, end=180, fill=LINE, width=2 * w)
    # Whiskers.
    for dy in (-4, 2, 8):
        d.line(pts((40, 90 + dy / 2), (10, 86 + dy)), fill=LINE, width=w)
        d.line(pts((88, 90 + dy / 2), (118, 86 + dy)), fill=LINE, width=w)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("cat.png")
    draw_cat().save(out, optimize=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv)
