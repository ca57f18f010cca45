"""Loading datasets: one entry point for every source of the project's ``data`` section.

:func:`load_dataset` reads CSV/TSV files, image folders, ``.npz`` arrays, synthetic 2-D sets and
the bundled samples, fits a :class:`~netstudio.core.data.preprocess.Preprocessor` on the training split
only, and returns a :class:`~netstudio.core.data.dataset.Dataset` ready to train on.
:func:`describe_data` answers "what shape goes in, what comes out" as cheaply as the source allows
(``netstudio summary`` uses it). Every problem with the data raises
:class:`~netstudio.core.errors.DataError` with one line naming the file and the column or row.

The source-specific readers live in :mod:`~netstudio.core.data.csv` /
:mod:`~netstudio.core.data.tabular` (tables), :mod:`~netstudio.core.data.images` and
:mod:`~netstudio.core.data.arrays` (.npz, synthetic); what they share (the split, the final
assembly, the progress/cancel plumbing) is in :mod:`~netstudio.core.data.common`.
"""

from __future__ import annotations

import copy
from pathlib import Path

from netstudio.core.config import data_defaults
from netstudio.core.data.common import Cancel, Monitor, Progress, output_width, resolve_path
from netstudio.core.data.dataset import Dataset
from netstudio.core.errors import DataError

#: Bundled samples: name -> data section, paths relative to the samples folder.
SAMPLES: dict[str, dict] = {
    "iris": {"source": "csv", "path": "iris.csv", "target": "species"},
    "house-prices": {"source": "csv", "path": "house-prices.csv", "target": "price_keur"},
    "shapes": {"source": "images", "path": "shapes"},
    "first-network": {"source": "csv", "path": "first-network.csv", "target": "label"},
    "energy-load": {"source": "csv", "path": "energy-load.csv",
                    "sequence": {"target": "load_mw", "window": 24, "horizon": 1, "order_by": "timestamp"}},
    "reviews": {"source": "csv", "path": "reviews.csv", "target": "sentiment", "text": "review",
                "tokenizer": {"kind": "wordpiece", "vocab_size": 1000, "max_length": 32, "lowercase": True}},
}


# ------------------------------------------------------------------------------------------------
# Entry points


def load_dataset(data_config: dict, base_dir: Path, progress: Progress | None = None,
                 cancel: Cancel | None = None) -> Dataset:
    """Load and prepare the dataset a project's ``data`` section describes.

    Parameters
    ----------
    data_config : dict
        The validated ``data`` section (``source`` and that source's keys; see the project
        contract). Relative paths resolve against *base_dir*.
    base_dir : Path
        Usually the project file's folder.
    progress : callable, optional
        ``progress(done, total)``, called from the loading thread at most every 50 ms; the units
        are bytes for CSV files, image files for folders.
    cancel : callable, optional
        Polled while loading; when it returns true the load stops with :class:`LoadCancelled`.

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        One line naming the file and, where it applies, the column or row.
    """
    if not data_config:
        raise DataError("no dataset chosen: the project's data section is empty")
    config, base_dir = resolve_sample(data_config, Path(base_dir))
    monitor = Monitor(_label(config, base_dir), progress, cancel)
    config = with_defaults(config)
    source = config.get("source")
    monitor.check()
    if source in ("synthetic", "npz"):
        from netstudio.core.data.arrays import load_npz, load_synthetic

        return load_synthetic(config, monitor) if source == "synthetic" else load_npz(config, base_dir, monitor)
    if source == "csv" and config.get("sequence"):
        from netstudio.core.data.series import load_series

        return load_series(config, base_dir, monitor)
    if source == "csv":
        from netstudio.core.data.tabular import load_csv

        return load_csv(config, base_dir, monitor)
    if source == "images":
        from netstudio.core.data.images import load_images

        return load_images(config, base_dir, monitor)
    raise DataError(f"data.source: unknown source {source!r}")


def load_project_dataset(project, progress: Progress | None = None, cancel: Cancel | None = None) -> Dataset:
    """:func:`load_dataset` for a :class:`~netstudio.core.project.Project` (paths beside its file)."""
    if not project.data:
        where = f"{project.path}: " if project.path else ""
        raise DataError(f"{where}the project has no data yet: choose a dataset first")
    return load_dataset(project.data, project.base_dir, progress, cancel)


def describe_data(data_config: dict, base_dir: Path) -> tuple[tuple[int, ...], int, str, list[str] | None]:
    """``(input_shape, output_width, task, classes)`` without preparing the whole dataset.

    Image folders read only the image headers and ``.npz`` files only the array headers and
    ``y``; synthetic sets need nothing; CSV files are loaded (pandas reads them fast).
    """
    if not data_config:
        raise DataError("no dataset chosen: the project's data section is empty")
    config, base_dir = resolve_sample(data_config, Path(base_dir))
    config = with_defaults(config)
    source = config.get("source")
    if source == "synthetic":
        from netstudio.core.data.arrays import synthetic_classes

        classes = synthetic_classes(config)
        task = "binary" if len(classes) == 2 else "multiclass"
        return (2,), output_width(task, classes), task, classes
    if source == "images":
        from netstudio.core.data.images import describe_images

        return describe_images(config, base_dir)
    if source == "npz":
        from netstudio.core.data.arrays import describe_npz

        return describe_npz(config, base_dir)
    dataset = load_dataset(config, base_dir)
    return dataset.input_shape, dataset.output_width, dataset.task, dataset.classes


def describe_inputs(data_config: dict, base_dir: Path) -> tuple[tuple[int, ...], int, int | None]:
    """``(input_shape, output_width, vocabulary)`` to check a design against: the vocabulary is a
    text input's (a CSV's text column; see :meth:`LayerStack.validate`), else None."""
    config, resolved = resolve_sample(data_config, Path(base_dir)) if data_config else (data_config, base_dir)
    if config and config.get("source") == "csv":
        dataset = load_dataset(config, resolved)
        return dataset.input_shape, dataset.output_width, dataset.vocabulary
    shape, width, _, _ = describe_data(data_config, base_dir)
    return shape, width, None


# ------------------------------------------------------------------------------------------------
# Bundled samples


def samples_dir() -> Path:
    """The bundled samples: inside the installed package first, else the source checkout's."""
    package = Path(__file__).resolve().parent.parent.parent / "samples"
    if package.is_dir():
        return package
    return Path(__file__).resolve().parent.parent.parent.parent / "samples"


def resolve_sample(config: dict, base_dir: Path) -> tuple[dict, Path]:
    """A ``source: sample`` section becomes its sample's real section (paths in the samples folder).

    The split, seed, normalisation and task of *config* are kept; other sources pass through.
    """
    if config.get("source") != "sample":
        return config, base_dir
    name = str(config.get("name", "")).strip()
    if name not in SAMPLES:
        raise DataError(f"data.name: no bundled sample called {name!r} (available: {', '.join(sorted(SAMPLES))})")
    resolved = copy.deepcopy(SAMPLES[name])
    for key in ("validation_split", "test_split", "seed", "normalize", "task", "augment", "sequence", "tokenizer"):
        if key in config:
            resolved[key] = config[key]
    return resolved, samples_dir()


def with_defaults(config: dict) -> dict:
    """*config* with the schema's default for every key its source reads and it leaves out."""
    return {**data_defaults(config.get("source")), **config}


def _label(config: dict, base_dir: Path) -> str:
    if config.get("path"):
        return str(resolve_path(config["path"], base_dir))
    return f"the {config.get('kind', config.get('source'))} dataset"
