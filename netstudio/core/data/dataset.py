"""The prepared dataset: what every loader returns and what training, export and the UI consume.

A :class:`Dataset` holds arrays that are ready for the network (numeric, imputed, encoded,
standardised, split), plus everything needed to do the same to raw data later (the fitted
preprocessor) and to describe it to the user (the summary).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class DataSummary:
    """What the data panel and the CLI tell the user about a dataset.

    ``class_counts`` maps class name to count over all kept rows (classification only);
    ``notes`` are neutral facts ("column 'id' looks like an identifier and was excluded");
    ``warnings`` are things the user should look at (class imbalance, skipped files).
    """

    source: str
    rows: int
    features: int
    input_shape: tuple[int, ...]
    task: str
    class_counts: dict[str, int] | None = None
    missing_values: int = 0
    dropped_rows: int = 0
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: A text input's tokenizer facts (vocabulary, an example, token counts; see
    #: :func:`netstudio.core.data.text.text_summary`), else None.
    text: dict | None = None

    def to_json(self) -> dict:
        return {
            "source": self.source, "rows": self.rows, "features": self.features,
            "input_shape": list(self.input_shape), "task": self.task, "class_counts": self.class_counts,
            "missing_values": self.missing_values, "dropped_rows": self.dropped_rows,
            "notes": list(self.notes), "warnings": list(self.warnings), "text": self.text,
        }


@dataclass
class Dataset:
    """A dataset ready to train on.

    Attributes
    ----------
    name : str
        Short name for titles and run folders (the file stem, the sample name...).
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    X_train, X_val : numpy.ndarray
        float32, shape ``(N, *input_shape)``: exactly what the network sees (preprocessed).
    y_train, y_val : numpy.ndarray
        int64 class indices into ``classes`` for classification; float32 standardised targets,
        shape ``(N,)``, for regression (``value = y * target_std + target_mean``).
    classes : list of str or None
        Class names in sorted order (classification), else ``None``.
    feature_names : list of str
        Names of the network's input columns, in order (empty for images).
    preprocessor : Any
        The fitted :class:`netstudio.core.data.preprocess.Preprocessor` (JSON-serialisable).
    summary : DataSummary
    target_mean, target_std : float
        The regression target's scaling (0 and 1 for classification).
    X_test, y_test : numpy.ndarray or None
        The test split (``data.test_split``), prepared like the validation split; scored once,
        after training. None or empty without one.
    series : SeriesLayout or None
        A time series' layout (:class:`netstudio.core.data.series.SeriesLayout`: the ordered rows,
        the target in its units, the period bounds, each split's windows); None otherwise.
    """

    name: str
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    classes: list[str] | None
    feature_names: list[str]
    preprocessor: Any
    summary: DataSummary
    target_mean: float = 0.0
    target_std: float = 1.0
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    series: Any = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.X_train.shape[1:])

    @property
    def vocabulary(self) -> int | None:
        """A text input's vocabulary size (the Embedding's ``num_embeddings``), else None."""
        return getattr(self.preprocessor, "vocabulary", None)

    @property
    def output_width(self) -> int:
        """What ``out_features: "auto"`` becomes: the number of classes, or 1 (binary, regression)."""
        return len(self.classes) if self.task == "multiclass" and self.classes else 1

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[0])

    @property
    def n_val(self) -> int:
        return int(self.X_val.shape[0])

    @property
    def n_test(self) -> int:
        return 0 if self.X_test is None else int(self.X_test.shape[0])

    @property
    def is_classification(self) -> bool:
        return self.task in ("binary", "multiclass")
