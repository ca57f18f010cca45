"""How good is a model, and where does it fail: reports on a dataset, and the decision boundary.

:func:`evaluate_model` predicts a split and returns a :class:`ClassificationReport` (confusion
matrix, per-class precision/recall/F1, accuracy) or a :class:`RegressionReport` (R², MAE, RMSE,
predictions in the target's units). :class:`BoundaryProbe` is a training callback that, at most a
few times a second, predicts a coarse grid over a two-feature dataset so the window can draw the
probability field under the points while training runs, without slowing it down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from netstudio.core.data.preview import raw_features
from netstudio.core.training.metrics import (
    chunk_rows,
    confusion_matrix,
    per_class_scores,
    predict_raw,
    regression_scores,
)
from netstudio.core.training.states import Callback

#: Grid points per side of the decision-boundary field.
BOUNDARY_RESOLUTION = 60
#: Points per side at least, when the memory guard coarsens the field of a design with large rows.
MIN_BOUNDARY_RESOLUTION = 8


@dataclass
class ClassificationReport:
    classes: list[str]
    true: np.ndarray            # class index per sample
    predicted: np.ndarray       # class index per sample
    probabilities: np.ndarray   # [N, classes]
    matrix: np.ndarray          # counts [true, predicted]
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    accuracy: float
    split: str = "val"          # the split evaluated: val, test or train

    def normalized(self) -> np.ndarray:
        """The confusion matrix with each row divided by its total (0 for empty rows)."""
        totals = self.matrix.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(totals > 0, self.matrix / np.maximum(totals, 1), 0.0)

    def curves(self) -> list:
        """ROC and PR curves (:class:`netstudio.core.training.curves.Curve`): class 1's for two
        classes, one per class (against the rest) for more."""
        from netstudio.core.training.curves import one_vs_rest

        return one_vs_rest(self.true, self.probabilities, self.classes)

    def at_threshold(self, threshold: float) -> ClassificationReport:
        """This report of a binary task with class 1 predicted when its probability is at least
        *threshold* (0.5 is the usual argmax)."""
        predicted = (self.probabilities[:, 1] >= threshold).astype(np.int64)
        matrix = confusion_matrix(self.true, predicted, 2)
        scores = per_class_scores(matrix)
        accuracy = float((self.true == predicted).mean()) if len(self.true) else 0.0
        return ClassificationReport(self.classes, self.true, predicted, self.probabilities, matrix,
                                    scores["precision"], scores["recall"], scores["f1"], scores["support"], accuracy,
                                    self.split)

    def cell_samples(self, true_class: int, predicted_class: int) -> np.ndarray:
        """Indices (into the evaluated split) of the samples in one confusion-matrix cell."""
        return np.flatnonzero((self.true == true_class) & (self.predicted == predicted_class))


@dataclass
class RegressionReport:
    true: np.ndarray            # target units
    predicted: np.ndarray       # target units
    r2: float
    mae: float
    rmse: float
    split: str = "val"

    @property
    def residuals(self) -> np.ndarray:
        return self.true - self.predicted


def classification_report(true, probabilities, classes: list[str]) -> ClassificationReport:
    """A report from true class indices and predicted probabilities ``[N, classes]``."""
    true = np.asarray(true, dtype=np.int64).reshape(-1)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    predicted = probabilities.argmax(axis=1) if len(probabilities) else np.zeros(0, dtype=np.int64)
    matrix = confusion_matrix(true, predicted, len(classes))
    scores = per_class_scores(matrix)
    accuracy = float((true == predicted).mean()) if len(true) else 0.0
    return ClassificationReport(list(classes), true, predicted, probabilities, matrix, scores["precision"],
                                scores["recall"], scores["f1"], scores["support"], accuracy)


def regression_report(true, predicted) -> RegressionReport:
    true = np.asarray(true, dtype=np.float64).reshape(-1)
    predicted = np.asarray(predicted, dtype=np.float64).reshape(-1)
    scores = regression_scores(true, predicted)
    return RegressionReport(true, predicted, scores["r2"], scores["mae"], scores["rmse"])


def model_outputs(model, X: np.ndarray, output_transform: str, training_bytes: int = 0) -> np.ndarray:
    """Probabilities (classification) or standardised values (regression) for preprocessed *X*, in
    chunks the memory guard sizes (*training_bytes*: its estimate of the design's training step)."""
    import torch

    from netstudio.core.design.losses import to_probabilities

    device = next(iter(model.parameters())).device
    tensor = torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32, device=device)
    with torch.no_grad():
        out = to_probabilities(predict_raw(model, tensor, training_bytes=training_bytes), output_transform)
    return out.float().cpu().numpy()


def evaluate_model(model, dataset, output_transform: str, split: str = "val", training_bytes: int = 0):
    """Evaluate *model* on the ``val`` (or ``train``, ``test``) split of a prepared dataset."""
    X, y = {"val": (dataset.X_val, dataset.y_val), "train": (dataset.X_train, dataset.y_train),
            "test": (dataset.X_test, dataset.y_test)}[split]
    out = model_outputs(model, X, output_transform, training_bytes)
    if dataset.task == "regression":
        scale = lambda v: np.asarray(v, dtype=np.float64).reshape(-1) * dataset.target_std + dataset.target_mean  # noqa: E731
        report = regression_report(scale(y), scale(out))
    else:
        report = classification_report(y, out, dataset.classes)
    report.split = split
    return report


# ------------------------------------------------------------------------------------------------
# Decision boundary


def supports_boundary(dataset) -> bool:
    """True for a classification dataset with exactly two input features."""
    return dataset.is_classification and dataset.input_shape == (2,) and \
        getattr(dataset.preprocessor, "kind", None) != "text"  # two token ids are not a plane


@dataclass
class BoundaryGrid:
    """A grid over the data: ``xs``/``ys`` in raw units, ``points`` preprocessed for the model."""

    xs: np.ndarray
    ys: np.ndarray
    points: np.ndarray

    def coarser(self, resolution: int) -> BoundaryGrid:
        """The same area with *resolution* points per side (this grid if it has no more)."""
        nx, ny = len(self.xs), len(self.ys)
        if resolution >= max(nx, ny):
            return self
        gx, gy = self.points[:nx, 0], self.points[::nx, 1]
        cx = np.linspace(gx[0], gx[-1], resolution)
        cy = np.linspace(gy[0], gy[-1], resolution)
        mx, my = np.meshgrid(cx, cy)
        points = np.column_stack([mx.ravel(), my.ravel()]).astype(np.float32)
        return BoundaryGrid(np.linspace(self.xs[0], self.xs[-1], resolution),
                            np.linspace(self.ys[0], self.ys[-1], resolution), points)

    def within(self, rows: int) -> BoundaryGrid:
        """This grid, coarsened until its points fit one forward-pass chunk of *rows* rows (down
        to :data:`MIN_BOUNDARY_RESOLUTION` per side, predicted in chunks beyond that)."""
        if len(self.points) <= rows:
            return self
        return self.coarser(max(MIN_BOUNDARY_RESOLUTION, math.isqrt(max(1, rows))))


def boundary_grid(dataset, resolution: int = BOUNDARY_RESOLUTION, margin: float = 0.15) -> BoundaryGrid:
    """A ``resolution`` × ``resolution`` grid covering all the data's points, with a margin."""
    X = np.concatenate([dataset.X_train, dataset.X_val]) if dataset.n_val else dataset.X_train
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = (hi - lo) * margin + 1e-6
    gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    mx, my = np.meshgrid(gx, gy)
    points = np.column_stack([mx.ravel(), my.ravel()]).astype(np.float32)
    raw = raw_features(dataset, np.column_stack([gx, gy]))
    return BoundaryGrid(raw[:, 0], raw[:, 1], points)


def boundary_field(model, grid: BoundaryGrid, output_transform: str, training_bytes: int = 0) -> np.ndarray:
    """Class probabilities on the grid, shaped ``[resolution_y, resolution_x, classes]``; a
    design whose rows are large gets a coarser field over the same area (the memory guard bounds
    the grid to one forward-pass chunk, *training_bytes* being its estimate of a training step)."""
    import torch

    device = next(iter(model.parameters())).device
    one = torch.as_tensor(grid.points[:1], device=device)
    grid = grid.within(chunk_rows(model, one, training_bytes))
    probs = model_outputs(model, grid.points, output_transform, training_bytes)
    return probs.reshape(len(grid.ys), len(grid.xs), -1)


class _RateLimited(Callback):
    """A callback that acts at fit start and end and at most ``rate`` times a second in between."""

    def __init__(self, session, rate: float):
        self.session = session
        self.interval = 1.0 / rate
        self.last = 0.0

    def act(self) -> None:
        raise NotImplementedError

    def _maybe(self) -> None:
        if time.perf_counter() - self.last >= self.interval:
            self.last = time.perf_counter()
            self.act()

    def on_fit_end(self, summary):
        self.last = time.perf_counter()
        self.act()


class BoundaryProbe(_RateLimited):
    """Computes the boundary field in the training thread at most ``rate`` times a second.

    The model is switched to ``eval()`` for the few milliseconds of the grid prediction and back,
    between two training steps, so nothing races with the optimizer. ``on_field(field)`` receives
    numpy arrays only.
    """

    def __init__(self, session, grid: BoundaryGrid, on_field: Callable[[np.ndarray], None], rate: float = 4.0):
        super().__init__(session, rate)
        self.grid, self.on_field = grid, on_field

    def act(self) -> None:
        self.on_field(boundary_field(self.session.model, self.grid, self.session.trainer.plan.output,
                                     self.session.validation.memory_bytes))

    def on_fit_start(self, start):
        self.last = time.perf_counter()
        self.act()

    def on_batch_end(self, state):
        self._maybe()


class EvaluationProbe(_RateLimited):
    """Evaluates the validation split while training runs (between steps, at most ``rate`` per
    second) and once at the end, and the test split once, at the end, when there is one;
    ``on_report(report)`` gets a classification or regression report (its ``split`` says which)."""

    def __init__(self, session, on_report: Callable[[object], None], rate: float = 1.0):
        super().__init__(session, rate)
        self.on_report = on_report

    def act(self) -> None:
        if self.session.dataset.n_val:
            self.on_report(evaluate_model(self.session.model, self.session.dataset, self.session.trainer.plan.output,
                                          training_bytes=self.session.validation.memory_bytes))

    def on_epoch_end(self, metrics):
        self._maybe()

    def on_fit_end(self, summary):
        super().on_fit_end(summary)
        if self.session.dataset.n_test:
            self.on_report(evaluate_model(self.session.model, self.session.dataset,
                                          self.session.trainer.plan.output, split="test",
                                          training_bytes=self.session.validation.memory_bytes))


def sample_images(dataset, X: np.ndarray) -> np.ndarray:
    """Preprocessed images ``[N, C, H, W]`` back as 8-bit pixels (what the files held, resized)."""
    pre = dataset.preprocessor
    shape = (1, *pre.stat_shape)
    pixels = (X * np.asarray(pre.std).reshape(shape) + np.asarray(pre.mean).reshape(shape)) * pre.divide_by
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
