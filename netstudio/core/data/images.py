"""Image folders: one sub-folder per class (png, jpg, jpeg, bmp, gif, webp).

Every image is converted to RGB or 8-bit grayscale (transparent pixels composited on white, EXIF
orientation applied, the first frame of an animation) and resized to ``image_size`` with bilinear
resampling when its size differs. :func:`read_image` does exactly this at training and at
prediction time. Pixels are then scaled to [0, 1] and standardised per channel with the training
split's statistics (the preprocessor divides raw 0-255 values by 255 itself, so an exported model
takes raw pixels). Unreadable files are skipped and listed in a warning unless none is readable.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from netstudio.core.data.common import Monitor, assemble, output_width, resolve_path, split_rows
from netstudio.core.data.dataset import Dataset
from netstudio.core.data.model_inputs import images_under, read_image, visible
from netstudio.core.data.preprocess import Preprocessor
from netstudio.core.errors import DataError
from netstudio.core.strings import plural

GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
SPLIT_NAMES = frozenset({"train", "training", "test", "testing", "val", "valid", "validation"})
#: Largest side an image folder is resized to without data.image_size saying so (the project's own
#: limit for data.image_size too).
MAX_SIDE = 4096
#: Bytes a loaded pixel costs at the peak: the uint8 copy and the float32 training arrays.
BYTES_PER_PIXEL = 1 + 4 + 4


def scan_folder(folder: Path) -> tuple[list[str], list[tuple[Path, int]], list[str]]:
    """Class names (sorted sub-folder names) and every image file with its class index.

    Hidden files and folders, non-image files and tool folders are ignored; a class folder
    without images is left out with a warning. Raises DataError unless two classes remain.
    """
    if not folder.exists():
        raise DataError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise DataError(f"{folder} is a file: an image dataset is a folder with one sub-folder per class")
    try:
        subfolders = sorted(e.name for e in os.scandir(folder) if e.is_dir() and visible(e.name))
    except OSError as exc:
        raise DataError(f"{folder}: cannot read ({exc.strerror or exc})") from None
    if not subfolders:
        raise DataError(f"{folder} has no class sub-folders: put each class's images in a sub-folder named after it")
    if set(s.lower() for s in subfolders) <= SPLIT_NAMES:
        raise DataError(f"{folder} holds {', '.join(subfolders)} sub-folders, not classes: point data.path at "
                        "the training folder (one sub-folder per class inside)")
    warnings, classes, files = [], [], []
    for name in subfolders:
        found = images_under(folder / name)
        if not found:
            warnings.append(f"class folder {name!r} has no images and was left out")
            continue
        files.extend((path, len(classes)) for path in found)
        classes.append(name)
    if len(classes) < 2:
        only = f"only one class sub-folder with images ({classes[0]!r})" if classes else "no images in its sub-folders"
        raise DataError(f"{folder} has {only}: classification needs a sub-folder per class, at least two")
    return classes, files, warnings


def _headers(files, monitor: Monitor | None):
    """(size (h, w), is_gray) per readable file from its header only; None for unreadable ones."""
    from PIL import Image

    headers = []
    for i, (path, _) in enumerate(files):
        try:
            # a huge header is judged by _choose (one line), not by PIL's warning on stderr
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as image:
                    w, h = image.size
                    headers.append(((h, w), image.mode in GRAY_MODES))
        except Exception:  # noqa: BLE001 - any decoder failure means "unreadable", listed later
            headers.append(None)
        if monitor is not None and i % 64 == 0:
            monitor.check()
    return headers


def _choose(config: dict, headers, folder: Path) -> tuple[tuple[int, int], str]:
    readable = [h for h in headers if h is not None]
    if not readable:
        raise DataError(f"{folder}: none of the {len(headers):,} image files could be read")
    size = config.get("image_size")
    if not size:
        size = Counter(h[0] for h in readable).most_common(1)[0][0]
        if max(size) > MAX_SIDE:  # a header may claim any size: never resize everything to it unasked
            raise DataError(f"{folder}: most images are {size[1]}x{size[0]} pixels (width x height), more than the "
                            f"{MAX_SIDE} NetStudio resizes to by itself: set data.image_size, e.g. [224, 224]")
    color = config.get("color") or ("grayscale" if all(gray for _, gray in readable) else "rgb")
    return (int(size[0]), int(size[1])), color


def _check_memory(folder: Path, count: int, channels: int, h: int, w: int) -> None:
    """Refuse, before allocating anything, a folder whose pixels cannot fit in this machine's memory."""
    from netstudio.core.design.validation import format_bytes, physical_memory

    needed = count * channels * h * w * BYTES_PER_PIXEL
    if needed > physical_memory():
        raise DataError(f"{folder}: {count:,} images of {w}x{h} need about {format_bytes(needed)} of memory, more "
                        f"than this machine has ({format_bytes(physical_memory())}): set a smaller data.image_size")


def describe_images(config: dict, base_dir: Path):
    """``(input_shape, output_width, task, classes)`` from the folder names and image headers."""
    folder = resolve_path(config["path"], base_dir)
    classes, files, _ = scan_folder(folder)
    (h, w), color = _choose(config, _headers(files, None), folder)
    task = _task(classes, config["task"], folder)
    return (1 if color == "grayscale" else 3, h, w), output_width(task, classes), task, classes


def _task(classes: list[str], requested: str, folder: Path) -> str:
    if requested == "regression":
        raise DataError(f"{folder}: an image folder's classes are names: regression needs a numeric target")
    if requested == "binary" and len(classes) != 2:
        raise DataError(f"{folder} has {len(classes)} class folders, but data.task is binary")
    return "binary" if len(classes) == 2 and requested in ("auto", "binary") else "multiclass"


def load_images(config: dict, base_dir: Path, monitor: Monitor | None = None) -> Dataset:
    """An image folder as a Dataset with X shaped ``[N, C, H, W]``."""
    folder = resolve_path(config["path"], base_dir)
    classes, files, warnings = scan_folder(folder)
    task = _task(classes, config["task"], folder)
    headers = _headers(files, monitor)
    (h, w), color = _choose(config, headers, folder)
    channels = 1 if color == "grayscale" else 3
    _check_memory(folder, len(files), channels, h, w)
    pixels = np.empty((len(files), channels, h, w), dtype=np.uint8)
    labels = np.empty(len(files), dtype=np.int64)
    kept, failed = 0, []
    total = len(files)
    for i, ((path, label), header) in enumerate(zip(files, headers)):
        if header is None:
            failed.append(path)
        else:
            try:
                pixels[kept] = read_image(path, (h, w), color)
                labels[kept] = label
                kept += 1
            except Exception:  # noqa: BLE001 - a truncated or corrupt file is skipped and listed
                failed.append(path)
        if monitor is not None:
            monitor.step(i + 1, total)
    if not kept:
        raise DataError(f"{folder}: none of the {total:,} image files could be read")
    pixels, labels = pixels[:kept], labels[:kept]
    if failed:
        shown = ", ".join(str(p.relative_to(folder)) for p in failed[:5])
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        warnings.append(f"{plural(len(failed), 'unreadable image file')} skipped: {shown}{more}")
    present = np.unique(labels)
    if len(present) < 2:
        raise DataError(f"{folder}: only class {classes[present[0]]!r} has readable images: need at least two classes")
    train, val, test = split_rows(kept, labels, config)
    pre = Preprocessor("images", (channels, h, w), task, classes, stat_shape=(channels, 1, 1), divide_by=255.0,
                       image={"size": [h, w], "color": color})
    sizes = Counter(hd[0] for hd in headers if hd is not None)
    notes = [f"{kept:,} images in {len(classes)} classes, {color}, resized to {h}x{w} (height x width)"
             + ("" if len(sizes) == 1 and (h, w) in sizes else f" ({len(sizes)} different sizes found)")]
    return assemble(folder.name, "images", pre, pixels[train].astype(np.float32), pixels[val].astype(np.float32),
                    labels[train], labels[val], normalize=bool(config["normalize"]), notes=notes,
                    warnings=warnings, where=str(folder), raw_test=pixels[test].astype(np.float32), y_test=labels[test])
