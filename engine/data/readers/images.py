"""Image files through Pillow: class-per-subfolder trees, flat folders, and folders with a label CSV.

Images become float32 records of shape ``(H, W, C)`` in ``[0, 1]`` (``C`` is 1 for grayscale, 3 for
RGB). When no ``image_size`` is given, a quick header pass picks the most common size and every other
image is resized to it (one warning in the report says how many). GIFs give their first frame;
transparent images are composited on white.
"""

from __future__ import annotations

import os
import struct
import warnings
from collections import Counter

import numpy as np
from PIL import Image, ImageOps

from engine.data.budget import DEFAULT_MAX_PIXELS, check_declared, pixel_budget
from engine.data.dataset import Dataset
from engine.data.errors import DataImportError
from engine.data.readers.common import check_readable, class_index, natural_key, open_failure_reason
from engine.data.storage import SectionBuilder

__all__ = ["IMAGE_EXTENSIONS", "is_image_file", "read_image_files", "class_folders", "decode_image"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
_RESIZE_MODES = ("stretch", "fit", "crop")
_BLOCK = 256


def is_image_file(path) -> bool:
    """Whether the file name has an image extension."""
    return os.fspath(path).lower().endswith(IMAGE_EXTENSIONS)


def class_folders(root) -> list[tuple[str, str]]:
    """Return ``(subfolder path, class name)`` for each non-hidden subfolder of ``root``, in natural order."""
    names = [e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith((".", "__"))]
    return [(os.path.join(root, n), n) for n in sorted(names, key=natural_key)]


def _open(path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open an image lazily (header only) and refuse it when its declared size exceeds ``max_pixels``.

    The pixel budget is ours, checked per file, so a decompression bomb is one bad record (skipped
    under ``on_error="skip"``) rather than Pillow's process-wide warning or error.
    """
    check_readable(path)
    try:
        with warnings.catch_warnings():
            # Our own budget below decides; Pillow's bomb warning would be an error under -W error.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError as exc:
        reason = f"image is larger than the per-image budget of {max_pixels / 1e6:.0f} megapixels ({exc})"
        raise DataImportError(reason, path) from exc
    except OSError as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError)):
            raise DataImportError(open_failure_reason(exc), path) from exc
        raise DataImportError(f"not a readable image ({exc})", path) from exc
    except (SyntaxError, ValueError, EOFError, TypeError, IndexError, struct.error) as exc:
        # Pillow's plugins report some damaged headers with these instead of OSError.
        raise DataImportError(f"not a readable image ({type(exc).__name__}: {exc})", path) from exc
    width, height = img.size
    if width * height > max_pixels:
        img.close()
        raise DataImportError(
            f"image declares {width}x{height} pixels ({width * height / 1e6:.0f} megapixels), more than the "
            f"per-image budget of {max_pixels / 1e6:.0f} megapixels (a decompression bomb or a damaged "
            "header)",
            path,
        )
    return img


def _to_mode(img: Image.Image, color: str) -> np.ndarray:
    """Pixels as float32 ``(H, W, C)`` in [0, 1] for ``color`` "grayscale" or "rgb"."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit and float grayscale keep their precision instead of going through 8-bit "L".
        gray = np.asarray(img, dtype=np.float32)
        gray = gray / 65535.0 if img.mode != "F" else gray
        gray = np.clip(gray, 0.0, 1.0)[..., None]
        return gray if color == "grayscale" else np.repeat(gray, 3, axis=-1)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(canvas, rgba)
    target = "L" if color == "grayscale" else "RGB"
    array = np.asarray(img.convert(target), dtype=np.float32) * np.float32(1 / 255)
    return array[..., None] if color == "grayscale" else array


def decode_image(
    path,
    color: str = "rgb",
    size: tuple | None = None,
    resize: str = "stretch",
    max_pixels: int = DEFAULT_MAX_PIXELS,
):
    """Read one image file.

    Parameters
    ----------
    path : str
    color : {"grayscale", "rgb"}
    size : (height, width), optional
        Output size; the original size when ``None``.
    resize : {"stretch", "fit", "crop"}
        ``stretch`` ignores the aspect ratio, ``fit`` pads with black to keep it, ``crop`` cuts the
        centre.
    max_pixels : int
        Largest width x height accepted (checked from the header, before decoding).

    Returns
    -------
    pixels : ndarray of float32, shape (H, W, C)
    original_size : (height, width)
    """
    img = _open(path, max_pixels)
    try:
        with img, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img.seek(0)  # the first frame of an animated GIF
            img.load()
            original = (img.height, img.width)
            if size is not None and original != tuple(size):
                h, w = size
                if resize == "fit":
                    img = ImageOps.pad(img.convert("RGBA" if "A" in img.mode else img.mode), (w, h), color=0)
                elif resize == "crop":
                    img = ImageOps.fit(img, (w, h), Image.Resampling.BILINEAR)
                else:
                    img = img.resize((w, h), Image.Resampling.BILINEAR)
            return _to_mode(img, color), original
    except DataImportError:
        raise
    except FileNotFoundError as exc:
        raise DataImportError(open_failure_reason(exc), path) from exc
    except (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        TypeError,
        IndexError,
        struct.error,
        Image.DecompressionBombError,
        MemoryError,
    ) as exc:
        # Pillow reports truncated and corrupt files as OSError/SyntaxError/ValueError, and a few
        # damaged chunks as the others. The pixel count is capped before loading, so a MemoryError here
        # comes from a damaged chunk length (a PNG declaring gigabytes of IDAT in a few bytes).
        why = (
            "a damaged size field declares more data than memory holds"
            if isinstance(exc, MemoryError)
            else exc
        )
        raise DataImportError(f"corrupt or truncated image ({type(exc).__name__}: {why})", path) from exc


def _none_read(ctx) -> str:
    """The message when no image could be read, with the first file's reason (the user's next step)."""
    skipped = [r for r in ctx.report if r.action == "skipped"]
    if not skipped:
        return "none of the image files could be read"
    first = skipped[0]
    more = f" (and {len(skipped) - 1} more; see the report)" if len(skipped) > 1 else ""
    return (
        f"none of the image files could be read: {os.path.basename(first.file or '')}: {first.reason}{more}"
    )


def _headers(files: list, ctx, max_pixels: int) -> dict:
    """Header pass: ``{path: ((h, w), mode)}`` for files Pillow can identify; failures go to ``ctx``."""
    out = {}
    for path in files:
        ctx.check_cancel()
        try:
            with _open(path, max_pixels) as img:
                out[path] = ((img.height, img.width), img.mode)
        except DataImportError as exc:
            ctx.fail(exc.reason, exc.file)
    return out


def read_image_files(
    files: list,
    labels: list | None,
    ctx,
    *,
    classes: list | None = None,
    image_size=None,
    color: str = "auto",
    resize: str = "stretch",
    memory_budget: int,
    cache_dir=None,
    root=None,
    label_rows: list | None = None,
    label_file=None,
    max_pixels: int | None = None,
    disk_budget: int | None = None,
) -> Dataset:
    """Read image files into a dataset.

    Parameters
    ----------
    files : list of str
        Image paths, in record order.
    labels : list of str, optional
        Class name per file; ``None`` gives an inputs-only dataset.
    ctx : ImportContext
    classes : list of str, optional
        Allowed class names (index order); labels outside it are errors. Default: sorted labels.
    image_size : (height, width), optional
        Resize every image to this; by default the most common size.
    color : {"auto", "grayscale", "rgb"}
        ``auto`` is grayscale when every image is, else RGB.
    resize : {"stretch", "fit", "crop"}
    memory_budget : int
    cache_dir : str, optional
    root : str, optional
        Folder the files live under (paths in ``meta["files"]`` are relative to it).
    label_rows, label_file : optional
        Where each label came from (CSV row numbers and file), for error messages.
    max_pixels : int, optional
        Per-image pixel budget (default: :func:`~engine.data.budget.pixel_budget` of the memory budget);
        a larger image is a bad record, skipped under ``on_error="skip"``.
    disk_budget : int, optional
        Bytes the cache may take on disk; the whole dataset must fit memory plus disk budgets.

    Returns
    -------
    Dataset
        ``inputs`` float32 ``(N, H, W, C)``; ``targets`` int64 ``(N,)`` when labelled.
    """
    if color not in ("auto", "grayscale", "rgb"):
        raise ValueError(
            f"Invalid value for `color`. Expected 'auto', 'grayscale' or 'rgb'. Received: {color!r}"
        )
    if resize not in _RESIZE_MODES:
        raise ValueError(f"Invalid value for `resize`. Expected one of {_RESIZE_MODES}. Received: {resize!r}")
    if not files:
        raise DataImportError("no image files found", root)
    if max_pixels is None:
        max_pixels = pixel_budget(memory_budget)
    class_ids = None
    if labels is not None:
        per_file = None if label_file is not None else files
        class_ids, classes = class_index(labels, classes, label_file, label_rows, ctx, per_file)
        keep = [i for i, c in enumerate(class_ids) if c >= 0]
        files, class_ids = [files[i] for i in keep], class_ids[keep]
    if image_size is None or color == "auto":
        headers = _headers(files, ctx, max_pixels)
        if not headers:
            raise DataImportError(_none_read(ctx), root or files[0])
        if class_ids is not None:
            class_ids = np.array([c for f, c in zip(files, class_ids) if f in headers], dtype=np.int64)
        files = [f for f in files if f in headers]
        if image_size is None:
            image_size = Counter(size for size, _ in headers.values()).most_common(1)[0][0]
            others = sum(1 for size, _ in headers.values() if size != image_size)
            if others:
                ctx.warn(
                    f"{others} image(s) of other sizes were resized to {image_size[0]}x{image_size[1]}", root
                )
        if color == "auto":
            color = "grayscale" if all(mode in _GRAY_MODES for _, mode in headers.values()) else "rgb"
    image_size = (int(image_size[0]), int(image_size[1]))
    channels = 1 if color == "grayscale" else 3
    if image_size[0] * image_size[1] > max_pixels:
        raise DataImportError(
            f"image size {image_size[0]}x{image_size[1]} is more than the per-image budget of "
            f"{max_pixels / 1e6:.0f} megapixels",
            root or files[0],
        )
    check_declared(
        (len(files), *image_size, channels),
        4,
        root or files[0],
        f"{len(files)} image(s) of {image_size[0]}x{image_size[1]}x{channels}",
        memory_budget,
        disk_budget,
    )
    dtypes = {"inputs": np.float32}
    if class_ids is not None:
        dtypes["targets"] = np.int64
    builder = SectionBuilder(dtypes, memory_budget, cache_dir, expected_records=len(files))
    sizes: Counter = Counter()
    kept_files: list[str] = []
    pixels: list[np.ndarray] = []
    targets: list[int] = []

    def flush():
        if pixels:
            block = {"inputs": np.stack(pixels)}
            if class_ids is not None:
                block["targets"] = np.array(targets, dtype=np.int64)
            builder.append(block)
            pixels.clear()
            targets.clear()

    try:
        for i, path in enumerate(files):
            try:
                array, original = decode_image(path, color, image_size, resize, max_pixels)
            except DataImportError as exc:
                ctx.fail(exc.reason, exc.file, exc.row)
            else:
                assert array.shape == (*image_size, channels)
                pixels.append(array)
                if class_ids is not None:
                    targets.append(int(class_ids[i]))
                sizes[f"{original[0]}x{original[1]}"] += 1
                kept_files.append(path)
                if len(pixels) == _BLOCK:
                    flush()
            ctx.tick(i + 1, len(files), path)
        flush()
    except BaseException:
        builder.abort()
        raise
    if builder.count == 0:
        raise DataImportError(_none_read(ctx), root or files[0])
    base = os.fspath(root) if root is not None else None
    meta = {
        "kind": "images",
        "image_sizes": dict(sorted(sizes.items(), key=lambda kv: -kv[1])),
        "color": color,
        "files": [os.path.relpath(f, base) if base else os.fspath(f) for f in kept_files],
    }
    return Dataset(builder.finish(), classes if class_ids is not None else None, ctx.report, meta)
