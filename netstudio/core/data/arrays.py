"""Array sources: synthetic 2-D sets and NumPy ``.npz`` files (arrays ``X`` and ``y``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from netstudio.core.config import DataConfig, settings
from netstudio.core.data.columns import Column
from netstudio.core.data.common import Monitor, assemble, output_width, resolve_path, split_rows
from netstudio.core.data.dataset import Dataset
from netstudio.core.data.preprocess import Preprocessor
from netstudio.core.data.target import classify_target
from netstudio.core.errors import DataError
from netstudio.core.strings import plural

#: Synthetic kinds with a chosen number of classes (the others always have two).
MULTICLASS_KINDS = ("spiral", "gaussians")


def synthetic_classes(config: dict) -> list[str]:
    """The class names of a synthetic section: "0", "1"... (``classes`` of them for spiral, gaussians)."""
    spec = settings(DataConfig)["classes"]
    count = int(config.get("classes", spec.default)) if config.get("kind") in MULTICLASS_KINDS else 2
    if not spec.minimum <= count <= spec.maximum:
        raise DataError(f"data.classes: {spec.message}")
    return [str(i) for i in range(count)]


def load_synthetic(config: dict, monitor: Monitor | None = None) -> Dataset:
    """A synthetic 2-D classification set (see :mod:`netstudio.core.data.synthetic`)."""
    from netstudio.core.data.synthetic import make_synthetic

    kind = config["kind"]
    classes = synthetic_classes(config)
    samples, noise, seed = int(config["samples"]), float(config["noise"]), int(config["seed"])
    X, y = make_synthetic(kind, samples, noise, seed, len(classes))
    task = "binary" if len(classes) == 2 else "multiclass"
    train, val, test = split_rows(len(y), y, config)
    pre = Preprocessor("tabular", (2,), task, classes, columns=[Column("x1"), Column("x2")], stat_shape=(2,))
    X = X.astype(np.float32)
    return assemble(kind, "synthetic", pre, X[train], X[val], y[train], y[val],
                    normalize=bool(config["normalize"]), raw_test=X[test], y_test=y[test],
                    notes=[f"{samples:,} {kind} points, noise {noise:g}, seed {seed}"], warnings=[])


def _open_npz(config: dict, base_dir: Path):
    path = resolve_path(config["path"], base_dir)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not an .npz file")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any failure to open an untrusted file: zip, zlib, header errors
        raise DataError(f"{path} is not a NumPy .npz file ({_reason(exc)})") from None
    if not hasattr(archive, "files"):
        raise DataError(f"{path} holds a single array (.npy), not an .npz file with arrays X and y")
    missing = [k for k in ("X", "y") if k not in archive.files]
    if missing:
        found = ", ".join(archive.files) or "none"
        raise DataError(f"{path}: no array {' or '.join(missing)} (found: {found}); "
                        "save with numpy.savez(path, X=features, y=targets)")
    return path, archive


def _npz_arrays(path: Path, archive) -> tuple[np.ndarray, np.ndarray]:
    try:
        X, y = archive["X"], archive["y"]
    except Exception as exc:  # noqa: BLE001 - a corrupt member: bad CRC, broken deflate stream, lying header
        raise DataError(f"{path}: cannot read arrays X and y ({_reason(exc)})") from None
    if X.dtype.kind not in "biuf":
        raise DataError(f"{path}: array X has dtype {X.dtype}: it must be numbers")
    if X.ndim == 0 or X.shape[0] == 0:
        raise DataError(f"{path}: array X is empty")
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1:
        raise DataError(f"{path}: array y has shape {list(y.shape)}: it must be one value per row (N,)")
    if len(y) != X.shape[0]:
        raise DataError(f"{path}: X has {X.shape[0]:,} rows but y has {len(y):,}")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    return X, y


def _npz_target(path: Path, y: np.ndarray, requested: str):
    if y.dtype.kind in "iuf":
        values = y.astype(np.float64)
        return classify_target(values, None, requested, str(path), "y")
    if y.dtype.kind == "b":
        return classify_target(None, np.where(y, "True", "False"), requested, str(path), "y")
    if y.dtype.kind in "US":
        text = np.array([str(v).strip() or np.nan for v in y], dtype=object)
        return classify_target(None, text, requested, str(path), "y")
    raise DataError(f"{path}: array y has dtype {y.dtype}: use numbers or strings")


def load_npz(config: dict, base_dir: Path, monitor: Monitor | None = None) -> Dataset:
    """An ``.npz`` file with arrays ``X`` (N, ...) and ``y`` (N,).

    A 2-D ``X`` is standardised per column, a 4-D one (N, C, H, W) per channel, any other shape
    with one mean and standard deviation.
    """
    path, archive = _open_npz(config, base_dir)
    with archive:
        X, y = _npz_arrays(path, archive)
    keep, codes, task, classes = _npz_target(path, y, config["task"])
    rows = np.flatnonzero(keep)
    dropped = len(y) - len(rows)
    train, val, test = split_rows(len(rows), codes if classes else None, config)
    shape = X.shape[1:]
    if X.ndim == 2:
        stat_shape = shape
        pre = Preprocessor("tabular", shape, task, classes, columns=[Column(f"x{i + 1}") for i in range(shape[0])],
                           stat_shape=stat_shape)
    else:
        stat_shape = (shape[0],) + (1,) * (len(shape) - 1) if X.ndim == 4 else (1,) * len(shape)
        pre = Preprocessor("array", shape, task, classes, stat_shape=stat_shape)
    pre.target["column"] = "y"
    notes = [f"X {list(X.shape)} ({X.dtype}), y ({y.dtype})"]
    if dropped:
        notes.append(f"{plural(dropped, 'row')} without a target dropped")
    raw_train = X[rows[train]].astype(np.float32)
    raw_val = X[rows[val]].astype(np.float32)
    raw_test = X[rows[test]].astype(np.float32)
    return assemble(path.stem, "npz", pre, raw_train, raw_val, codes[train], codes[val], raw_test=raw_test,
                    y_test=codes[test],
                    normalize=bool(config["normalize"]), notes=notes, warnings=[], dropped=dropped,
                    where=str(path))


def describe_npz(config: dict, base_dir: Path):
    """The input shape from X's header (X itself is not read), the task from y."""
    path, archive = _open_npz(config, base_dir)
    with archive:
        shape = _npy_shape(archive, "X")
        try:
            y = archive["y"]
        except Exception as exc:  # noqa: BLE001 - as in _npz_arrays
            raise DataError(f"{path}: cannot read array y ({_reason(exc)})") from None
    if shape is None:
        _, again = _open_npz(config, base_dir)
        with again:
            X, y = _npz_arrays(path, again)
        shape = X.shape
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if shape and shape[0] != len(y):  # as load_npz would find: the header is not the data
        raise DataError(f"{path}: X has {shape[0]:,} rows but y has {len(y):,}")
    input_shape = tuple(int(s) for s in shape[1:]) or (1,)
    _, _, task, classes = _npz_target(path, y, config["task"])
    return input_shape, output_width(task, classes), task, classes


def _npy_shape(archive, key: str) -> tuple[int, ...] | None:
    """The shape in an .npz member's header, without reading the array (None if unreadable)."""
    try:
        with archive.zip.open(f"{key}.npy") as member:
            version = np.lib.format.read_magic(member)
            reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                      else np.lib.format.read_array_header_2_0)
            shape, _, _ = reader(member)
        return tuple(shape)
    except Exception:  # noqa: BLE001 - unreadable header: the caller reads the array itself
        return None


def _reason(exc: BaseException) -> str:
    """The first line of a reader's error; a MemoryError means the header claims a huge array."""
    if isinstance(exc, MemoryError):
        return "its header claims an array too large for this machine's memory"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
