"""The evaluation view: how good the model is on the validation split, and where it fails.

Classification: a confusion matrix heatmap (counts or row-normalised) with per-class precision,
recall and F1 and the overall accuracy; clicking a cell lists its samples (their values, or
thumbnails for images); double-clicking one of them sends it to the Inside view (signal
``sample_chosen(int)``, its index in the validation split). Regression: predicted against true with the identity line, a residual
histogram, R², MAE and RMSE. Two-feature classification: the decision boundary, the predicted
probability field under the points, refreshed while training runs.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from netstudio.ui.theme import class_color

#: Samples listed for one confusion-matrix cell, at most.
MAX_SAMPLES = 60
HEAT = QColor(52, 120, 246)


class ConfusionModel(QAbstractTableModel):
    """Rows: true class, columns: predicted class; cells coloured by the row-normalised share."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.report = None
        self.normalized = False

    def set_report(self, report, normalized: bool | None = None) -> None:
        self.beginResetModel()
        self.report = report
        if normalized is not None:
            self.normalized = normalized
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if self.report is None or parent.isValid() else len(self.report.classes)

    columnCount = rowCount  # noqa: N815 - a square matrix

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.report is None:
            return None
        r, c = index.row(), index.column()
        count = int(self.report.matrix[r, c])
        share = float(self.report.normalized()[r, c])
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{share:.0%}" if self.normalized else f"{count:,}"
        if role == Qt.ItemDataRole.BackgroundRole:
            color = QColor(HEAT)
            color.setAlphaF(0.08 + 0.85 * share)
            return color
        if role == Qt.ItemDataRole.ForegroundRole and share > 0.55:
            return QColor(255, 255, 255)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            classes = self.report.classes
            return (f"true {classes[r]}, predicted {classes[c]}: {count:,} samples ({share:.1%} of {classes[r]})"
                    "\nClick to list them")
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and self.report is not None:
            name = self.report.classes[section]
            return f"→ {name}" if orientation == Qt.Orientation.Horizontal else name
        if role == Qt.ItemDataRole.ToolTipRole:
            return "predicted class" if orientation == Qt.Orientation.Horizontal else "true class"
        return None


class EvaluationView(QWidget):
    """Shows evaluation reports and the decision boundary of the current run."""

    sample_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("evaluationView")
        self.dataset = None
        self.report = None
        self.grid = None
        self._build()
        self.set_dataset(None)

    def _build(self) -> None:
        self.empty = QLabel("Train a model to see how it does on the validation data.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_classification(), "Confusion Matrix")
        self.tabs.addTab(self._build_regression(), "Regression")
        self.tabs.addTab(self._build_boundary(), "Decision Boundary")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    def _build_classification(self) -> QSplitter:
        """The confusion matrix and per-class scores; the samples of the cell clicked."""
        self.confusion_model = ConfusionModel(self)
        self.confusion = QTableView()
        self.confusion.setObjectName("confusionMatrix")
        self.confusion.setModel(self.confusion_model)
        self.confusion.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.confusion.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.confusion.clicked.connect(self._on_cell_clicked)
        self.normalize = QCheckBox("Row percentages")
        self.normalize.setToolTip("Show each true class's row as shares of that class (recall on the diagonal)")
        self.normalize.toggled.connect(lambda on: self.confusion_model.set_report(self.report, on))
        self.accuracy = QLabel()
        self.scores = QTableWidget(0, 4)
        self.scores.setHorizontalHeaderLabels(["Precision", "Recall", "F1", "Samples"])
        self.scores.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.cell_label = QLabel("Click a cell to list its samples.")
        self.cell_label.setWordWrap(True)
        self.samples_table = QTableWidget()
        self.samples_table.setObjectName("cellSamples")
        self.samples_table.setToolTip("Double-click a sample to look inside the model with it (Inside view)")
        self.samples_table.cellDoubleClicked.connect(lambda row, _col: self._choose(row))
        self.samples_thumbs = QListWidget()
        self.samples_thumbs.setViewMode(QListWidget.ViewMode.IconMode)
        self.samples_thumbs.setIconSize(QSize(56, 56))
        self.samples_thumbs.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.samples_thumbs.itemDoubleClicked.connect(lambda item: self._choose(self.samples_thumbs.row(item)))
        self._shown = np.zeros(0, dtype=np.int64)
        self.samples = QStackedWidget()
        self.samples.addWidget(self.samples_table)
        self.samples.addWidget(self.samples_thumbs)
        head = QHBoxLayout()
        head.addWidget(self.accuracy, 1)
        head.addWidget(self.normalize)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(head)
        left_layout.addWidget(self.confusion, 3)
        left_layout.addWidget(self.scores, 2)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.cell_label)
        right_layout.addWidget(self.samples, 1)
        self.classification = QSplitter()
        self.classification.addWidget(left)
        self.classification.addWidget(right)
        return self.classification

    def _build_regression(self) -> QWidget:
        """Predicted against true, and the histogram of residuals."""
        self.scatter = pg.PlotWidget()
        self.scatter.setLabel("bottom", "true")
        self.scatter.setLabel("left", "predicted")
        self.scatter.showGrid(x=True, y=True, alpha=0.15)
        self.histogram = pg.PlotWidget()
        self.histogram.setLabel("bottom", "residual (true − predicted)")
        self.histogram.setLabel("left", "samples")
        self.regression_scores = QLabel()
        self.regression = QWidget()
        reg_layout = QVBoxLayout(self.regression)
        reg_layout.addWidget(self.regression_scores)
        plots = QSplitter()
        plots.addWidget(self.scatter)
        plots.addWidget(self.histogram)
        reg_layout.addWidget(plots, 1)
        return self.regression

    def _build_boundary(self) -> pg.PlotWidget:
        """The predicted probability field under the training points (two-feature data)."""
        self.boundary = pg.PlotWidget()
        self.boundary.setObjectName("decisionBoundary")
        self.boundary.showGrid(x=True, y=True, alpha=0.1)
        self.field_image = pg.ImageItem(axisOrder="row-major")
        self.boundary.addItem(self.field_image)
        self.boundary_points: list = []
        return self.boundary

    # -- data --------------------------------------------------------------------------------------
    def set_dataset(self, dataset) -> None:
        """Prepare for a dataset's reports (which tabs apply, the boundary grid and points)."""
        from netstudio.core.data.preview import raw_features
        from netstudio.core.training.evaluation import boundary_grid, supports_boundary

        self.dataset, self.report = dataset, None
        self.confusion_model.set_report(None)
        self.scores.setRowCount(0)
        self.accuracy.clear()
        self.cell_label.setText("Click a cell to list its samples.")
        self.samples_table.clear()
        self.samples_thumbs.clear()
        classification = dataset is not None and dataset.is_classification
        self.tabs.setTabEnabled(0, classification)
        self.tabs.setTabEnabled(1, dataset is not None and not classification)
        boundary = dataset is not None and supports_boundary(dataset)
        self.tabs.setTabEnabled(2, boundary)
        self.field_image.clear()
        for item in self.boundary_points:
            self.boundary.removeItem(item)
        self.boundary_points = []
        self.grid = boundary_grid(dataset) if boundary else None
        if boundary:
            X = raw_features(dataset, dataset.X_train)
            for index, name in enumerate(dataset.classes):
                mask = dataset.y_train == index
                item = pg.ScatterPlotItem(X[mask, 0], X[mask, 1], size=6, brush=class_color(index),
                                          pen=pg.mkPen(30, 30, 30, 160), name=name)
                self.boundary.addItem(item)
                self.boundary_points.append(item)
            # Same units on both axes (a spiral, x/y positions): keep circles round; otherwise fill the view.
            spans = [float(np.ptp(X[:, i])) or 1.0 for i in (0, 1)]
            self.boundary.setAspectLocked(max(spans) / min(spans) < 3)
            self.boundary.setLabel("bottom", dataset.feature_names[0] if dataset.feature_names else "x1")
            self.boundary.setLabel("left", dataset.feature_names[1] if len(dataset.feature_names) > 1 else "x2")
        self.stack.setCurrentWidget(self.empty)
        if dataset is not None:
            self.tabs.setCurrentIndex(2 if boundary else (0 if classification else 1))

    @Slot(object)
    def show_report(self, report) -> None:
        """Show a :class:`ClassificationReport` or :class:`RegressionReport` of the validation split."""
        self.report = report
        self.stack.setCurrentWidget(self.tabs)
        if hasattr(report, "matrix"):
            self._show_classification(report)
        else:
            self._show_regression(report)

    def _show_classification(self, report) -> None:
        self.confusion_model.set_report(report)
        self.accuracy.setText(f"<b>Accuracy {report.accuracy:.2%}</b> on {len(report.true):,} validation samples")
        self.scores.setRowCount(len(report.classes))
        self.scores.setVerticalHeaderLabels(report.classes)
        for row in range(len(report.classes)):
            values = (f"{report.precision[row]:.3f}", f"{report.recall[row]:.3f}", f"{report.f1[row]:.3f}",
                      f"{int(report.support[row]):,}")
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.scores.setItem(row, col, item)

    def _show_regression(self, report) -> None:
        self.regression_scores.setText(f"<b>R² {report.r2:.4f}</b> &nbsp; MAE {report.mae:.4g} &nbsp; "
                                       f"RMSE {report.rmse:.4g} &nbsp; ({len(report.true):,} validation samples)")
        self.scatter.clear()
        self.scatter.plot(report.true, report.predicted, pen=None, symbol="o", symbolSize=5,
                          symbolBrush=QColor(52, 120, 246, 150), symbolPen=None)
        if len(report.true):
            lo = float(min(report.true.min(), report.predicted.min()))
            hi = float(max(report.true.max(), report.predicted.max()))
            self.scatter.plot([lo, hi], [lo, hi], pen=pg.mkPen(150, 150, 150, width=1, style=Qt.PenStyle.DashLine))
        self.histogram.clear()
        residuals = report.residuals
        if len(residuals):
            counts, edges = np.histogram(residuals, bins=min(40, max(5, len(residuals) // 5)))
            self.histogram.addItem(pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=counts,
                                                   brush=QColor(235, 110, 20, 170), pen=None))

    @Slot(object)
    def show_field(self, field: np.ndarray) -> None:
        """Draw a probability field ``[ny, nx, classes]`` (from the boundary probe) under the points."""
        if self.grid is None or self.dataset is None:
            return
        colors = np.array([class_color(i).getRgbF()[:3] for i in range(field.shape[2])])
        rgb = field @ colors
        confidence = field.max(axis=2, keepdims=True)
        rgb = 1.0 - (1.0 - rgb) * (0.25 + 0.5 * confidence)  # pale where unsure, stronger where sure
        image = np.concatenate([rgb, np.ones_like(confidence)], axis=2)
        self.field_image.setImage((image * 255).astype(np.ubyte), autoLevels=False, levels=(0, 255))
        xs, ys = self.grid.xs, self.grid.ys
        self.field_image.setRect(QRectF(float(xs[0]), float(ys[0]), float(xs[-1] - xs[0]), float(ys[-1] - ys[0])))
        self.stack.setCurrentWidget(self.tabs)

    # -- cell samples ------------------------------------------------------------------------------
    @Slot(QModelIndex)
    def _on_cell_clicked(self, index: QModelIndex) -> None:
        if self.report is None or not index.isValid():
            return
        self.show_cell(index.row(), index.column())

    def show_cell(self, true_class: int, predicted_class: int) -> np.ndarray:
        """List the validation samples of one cell; returns their indices in the validation split."""
        from netstudio.core.data.preview import raw_features
        from netstudio.core.training.evaluation import sample_images

        report, data = self.report, self.dataset
        rows = report.cell_samples(true_class, predicted_class)
        shown = rows[:MAX_SAMPLES]
        self._shown = np.asarray(shown, dtype=np.int64)
        more = f" (first {MAX_SAMPLES} shown)" if len(rows) > MAX_SAMPLES else ""
        self.cell_label.setText(f"True <b>{report.classes[true_class]}</b>, predicted "
                                f"<b>{report.classes[predicted_class]}</b>: {len(rows):,} samples{more}")
        if len(data.input_shape) == 3:
            self.samples_thumbs.clear()
            for i, pixels in zip(shown, sample_images(data, data.X_val[shown])):
                item = QListWidgetItem(QIcon(QPixmap.fromImage(_to_qimage(pixels))),
                                       f"{report.probabilities[i, predicted_class]:.0%}")
                item.setToolTip(f"validation sample {i + 1} (double-click: look inside with it)")
                self.samples_thumbs.addItem(item)
            self.samples.setCurrentWidget(self.samples_thumbs)
        else:
            values = raw_features(data, data.X_val[shown].reshape(len(shown), -1))
            names = data.feature_names or [f"x{j + 1}" for j in range(values.shape[1] if values.ndim > 1 else 0)]
            headers = ["p(" + report.classes[predicted_class] + ")", *names]
            self.samples_table.clear()
            self.samples_table.setColumnCount(len(headers))
            self.samples_table.setHorizontalHeaderLabels(headers)
            self.samples_table.setRowCount(len(shown))
            for r, i in enumerate(shown):
                row = [f"{report.probabilities[i, predicted_class]:.3f}", *[f"{v:.4g}" for v in values[r]]]
                for c, text in enumerate(row):
                    self.samples_table.setItem(r, c, QTableWidgetItem(text))
            self.samples.setCurrentWidget(self.samples_table)
        return rows


    def _choose(self, row: int) -> None:
        if 0 <= row < len(self._shown):
            self.sample_chosen.emit(int(self._shown[row]))


def _to_qimage(pixels: np.ndarray) -> QImage:
    """A ``[C, H, W]`` uint8 array (1 or 3 channels) as a QImage that owns its pixels.

    The image is allocated by Qt and filled through ``bits()``: building a QImage on a Python
    buffer is where PySide has had reference-count bugs.
    """
    channels, height, width = pixels.shape
    gray = channels == 1
    image = QImage(width, height, QImage.Format.Format_Grayscale8 if gray else QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.bits(), dtype=np.uint8).reshape(height, image.bytesPerLine())
    if gray:
        rows[:, :width] = pixels[0]
    else:
        rows[:, :3 * width] = np.transpose(pixels[:3], (1, 2, 0)).reshape(height, 3 * width)
    return image
