"""Image files: which files are images, and reading one exactly as training and prediction do.

A leaf module (no other NetStudio module): the image loader, the fitted preprocessing and
``predict`` all read pixels through :func:`read_image`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})


#: Folders that tools leave behind and that are never classes.
IGNORED_FOLDERS = frozenset({"__MACOSX", "@eaDir", "$RECYCLE.BIN"})


def read_image(path, size: tuple[int, int], color: str) -> np.ndarray:
    """One image file as uint8 ``[C, H, W]`` (C = 3 for ``rgb``, 1 for ``grayscale``).

    Raises the file's own error (OSError, ValueError...) when it cannot be decoded.
    """
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image.seek(0)
        image = ImageOps.exif_transpose(image)
        image = _to_mode(image, "L" if color == "grayscale" else "RGB")
        h, w = size
        if image.size != (w, h):
            image = image.resize((w, h), Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _to_mode(image, mode: str):
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        image = Image.fromarray(np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert(mode) if image.mode != mode else image


def visible(name: str) -> bool:
    """Whether a file or folder is neither hidden nor one that tools leave behind."""
    return not name.startswith((".", "_.")) and name not in IGNORED_FOLDERS


def images_under(folder: Path) -> list[Path]:
    """Every image file under *folder*, sorted, hidden files and tool folders left out."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if visible(d))
        found.extend(Path(root) / n for n in sorted(names)
                     if visible(n) and os.path.splitext(n)[1].lower() in EXTENSIONS)
    return found
