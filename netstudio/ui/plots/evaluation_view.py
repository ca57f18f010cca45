"""The evaluation view: how good the model is on the validation split, and where it fails.

Classification: a confusion matrix heatmap (counts or row-normalised) with per-class precision,
recall and F1 and the overall accuracy; clicking a cell lists its samples (their values, or
thumbnails for images); double-clicking one of them sends it to the Inside view (signal
``sample_chosen(int)``, its index in the validation split). Regression: predicted against true with the identity line, a residual
histogram, R², MAE and RMSE; for a time series also the forecast against the truth, row by row,
over the validation (or test) period. Two-feature classification: the decision boundary, the predicted
probability field under the points, refreshed while training runs. Classification also gets ROC
and precision–recall curves with their areas (class 1's for a binary task, with a threshold slider
that re-draws the confusion matrix; one per class against the rest for more classes).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from netstudio.ui.plots.forecast_plot import ForecastPlot
from netstudio.ui.theme import class_color
from netstudio.ui.widgets import StackingSplitter, pixels_to_qimage

#: What the view calls each split in its texts.
SPLIT_WORDS = {"val": "validation", "test": "test", "train": "training"}
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
        self.reports: dict = {}  # the latest report of each split
        self.grid = None
        self.curves: list = []
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
        self.tabs.addTab(self._build_curves(), "ROC / PR")
        self.forecast_plot = ForecastPlot()
        self.forecast_tab = self.tabs.addTab(self.forecast_plot, "Forecast")
        self.tabs.setTabToolTip(self.forecast_tab, "A time series: the forecast against the truth, row by row, over "
                                                   "the validation (or test) period")
        self.split_choice = QComboBox()
        self.split_choice.setObjectName("evaluationSplit")
        self.split_choice.addItem("Validation", "val")
        self.split_choice.addItem("Test", "test")
        self.split_choice.setToolTip("Which split the view scores: validation (during and after training) or the "
                                     "held-out test split (scored once, when training ends)")
        self.split_choice.currentIndexChanged.connect(self._on_split_chosen)
        self.split_row = QWidget()
        split_layout = QHBoxLayout(self.split_row)
        split_layout.setContentsMargins(4, 2, 4, 0)
        split_layout.addWidget(QLabel("Evaluate on"))
        split_layout.addWidget(self.split_choice)
        split_layout.addStretch(1)
        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.addWidget(self.split_row)
        page_layout.addWidget(self.tabs, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(page)
        self.page = page
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
        self.normalize.toggled.connect(lambda on: self.confusion_model.set_report(self.confusion_model.report, on))
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
        self.classification = StackingSplitter()  # one above the other in a narrow dock
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

    def _build_curves(self) -> QWidget:
        """ROC and precision–recall curves with their areas; a threshold slider for binary tasks."""
        self.roc = pg.PlotWidget()
        self.roc.setObjectName("rocCurve")
        self.roc.setLabel("bottom", "false positive rate")
        self.roc.setLabel("left", "true positive rate")
        self.pr = pg.PlotWidget()
        self.pr.setObjectName("prCurve")
        self.pr.setLabel("bottom", "recall")
        self.pr.setLabel("left", "precision")
        for plot in (self.roc, self.pr):
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setXRange(0, 1, padding=0.02)
            plot.setYRange(0, 1, padding=0.02)
            plot.addLegend(offset=(-10, -10) if plot is self.roc else (-10, 10))
        self.curve_areas = QLabel()
        self.curve_areas.setWordWrap(True)
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setObjectName("thresholdSlider")
        self.threshold.setRange(1, 99)
        self.threshold.setValue(50)
        self.threshold.setToolTip("Predict the positive class when its probability is at least this; the "
                                  "confusion matrix and the scores follow (0.50 is the usual choice)")
        self.threshold_label = QLabel()
        self.threshold_counts = QLabel()
        self.threshold.valueChanged.connect(self._on_threshold)
        self.threshold_row = QWidget()
        row = QHBoxLayout(self.threshold_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Threshold"))
        row.addWidget(self.threshold, 1)
        row.addWidget(self.threshold_label)
        row.addWidget(self.threshold_counts)
        self.threshold_marks: list = []
        plots = QSplitter()
        plots.addWidget(self.roc)
        plots.addWidget(self.pr)
        self.curves_page = QWidget()
        layout = QVBoxLayout(self.curves_page)
        layout.addWidget(self.curve_areas)
        layout.addWidget(self.threshold_row)
        layout.addWidget(plots, 1)
        return self.curves_page

    # -- data --------------------------------------------------------------------------------------
    def set_dataset(self, dataset) -> None:
        """Prepare for a dataset's reports (which tabs apply, the boundary grid and points)."""
        from netstudio.core.data.preview import raw_features
        from netstudio.core.training.evaluation import boundary_grid, supports_boundary

        self.dataset, self.report, self.reports = dataset, None, {}
        self.split_row.setVisible(dataset is not None and dataset.n_test > 0)
        self.split_choice.blockSignals(True)
        self.split_choice.setCurrentIndex(0)
        self.split_choice.blockSignals(False)
        self._enable_test_choice()
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
        self.tabs.setTabEnabled(3, classification)
        series = getattr(dataset, "series", None) is not None
        self.tabs.setTabEnabled(self.forecast_tab, series)
        self.forecast_plot.clear()
        self.threshold_row.setVisible(classification and len(dataset.classes) == 2)
        self.threshold.blockSignals(True)
        self.threshold.setValue(50)
        self.threshold.blockSignals(False)
        self.roc.clear()
        self.pr.clear()
        self.curve_areas.clear()
        self.threshold_marks, self.curves = [], []
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
            # The field fills the panel, whatever its shape: the view is the grid (the data's range and
            # a margin); a locked aspect left a small square in a wide panel with empty axes beside it.
            self.boundary.setAspectLocked(False)
            xs, ys = self.grid.xs, self.grid.ys
            self.boundary.setRange(xRange=(float(xs[0]), float(xs[-1])), yRange=(float(ys[0]), float(ys[-1])),
                                   padding=0)
            self.boundary.setLabel("bottom", dataset.feature_names[0] if dataset.feature_names else "x1")
            self.boundary.setLabel("left", dataset.feature_names[1] if len(dataset.feature_names) > 1 else "x2")
        self.stack.setCurrentWidget(self.empty)
        if dataset is not None:
            self.tabs.setCurrentIndex(self.forecast_tab if series else 2 if boundary else (0 if classification else 1))

    def _enable_test_choice(self) -> None:
        """Test can be chosen once the test split's report has come (when training ends)."""
        item = self.split_choice.model().item(1)
        item.setEnabled("test" in self.reports)
        item.setToolTip("" if "test" in self.reports else "The test split is scored once, when training ends")

    def _on_split_chosen(self, _index: int) -> None:
        report = self.reports.get(self.split_choice.currentData())
        if report is not None:
            self._show(report)

    @Slot(object)
    def show_report(self, report) -> None:
        """Take a :class:`ClassificationReport` or :class:`RegressionReport` of a split (its
        ``split``); it is shown when that split is the one chosen."""
        split = getattr(report, "split", "val")
        self.reports[split] = report
        self._enable_test_choice()
        if split == (self.split_choice.currentData() or "val"):
            self._show(report)

    def _show(self, report) -> None:
        self.report = report
        self.stack.setCurrentWidget(self.page)
        if hasattr(report, "matrix"):
            self._show_classification(report)
        else:
            self._show_regression(report)

    def _show_classification(self, report) -> None:
        self._show_curves(report)
        if len(report.classes) == 2 and self.threshold.value() != 50:
            self._show_scores(report.at_threshold(self.threshold.value() / 100))
        else:
            self._show_scores(report)

    def _show_scores(self, report) -> None:
        """The confusion matrix, accuracy and per-class scores of *report* (perhaps re-thresholded)."""
        self.confusion_model.set_report(report)
        at = f" at threshold {self.threshold.value() / 100:.2f}" if len(report.classes) == 2 else ""
        self.accuracy.setText(f"<b>Accuracy {report.accuracy:.2%}</b> on {len(report.true):,} {SPLIT_WORDS[report.split]} samples{at}")
        self.scores.setRowCount(len(report.classes))
        self.scores.setVerticalHeaderLabels(report.classes)
        for row in range(len(report.classes)):
            values = (f"{report.precision[row]:.3f}", f"{report.recall[row]:.3f}", f"{report.f1[row]:.3f}",
                      f"{int(report.support[row]):,}")
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.scores.setItem(row, col, item)

    def _show_curves(self, report) -> None:
        """Draw the ROC and PR curves of a classification report, with their areas in the legend."""
        self.roc.clear()
        self.pr.clear()
        for plot in (self.roc, self.pr):
            if plot.plotItem.legend is not None:
                plot.plotItem.legend.clear()
        self.roc.plot([0, 1], [0, 1], pen=pg.mkPen(150, 150, 150, width=1, style=Qt.PenStyle.DashLine))
        self.curves = report.curves()
        areas = []
        for curve in self.curves:
            color = class_color(report.classes.index(curve.name))
            auc = "–" if curve.auc is None else f"{curve.auc:.3f}"
            ap = "–" if curve.average_precision is None else f"{curve.average_precision:.3f}"
            self.roc.plot(curve.fpr, curve.tpr, pen=pg.mkPen(color, width=2), name=f"{curve.name} (AUC {auc})")
            self.pr.plot(curve.recall, curve.precision, pen=pg.mkPen(color, width=2), name=f"{curve.name} (AP {ap})")
            areas.append(f"<b>{curve.name}</b>: ROC AUC {auc}, average precision {ap}")
        what = ("positive class " if len(self.curves) == 1 else "each class against the rest: ")
        self.curve_areas.setText(f"On {len(report.true):,} {SPLIT_WORDS[report.split]} samples, {what}" + "; ".join(areas))
        self.threshold_marks = []
        if len(self.curves) == 1:
            for plot in (self.roc, self.pr):
                mark = pg.ScatterPlotItem(size=12, brush=pg.mkBrush(255, 255, 255, 230), pen=pg.mkPen(255, 200, 0, width=2))
                plot.addItem(mark)
                self.threshold_marks.append(mark)
            self._mark_threshold()

    def _on_threshold(self, value: int) -> None:
        self.threshold_label.setText(f"{value / 100:.2f}")
        if self.report is None or not hasattr(self.report, "matrix") or len(self.report.classes) != 2:
            return
        self._show_scores(self.report.at_threshold(value / 100))
        self._mark_threshold()

    def _mark_threshold(self) -> None:
        """Circle the point of each curve at the slider's threshold; show the counts there."""
        t = self.threshold.value() / 100
        self.threshold_label.setText(f"{t:.2f}")
        if not self.threshold_marks or self.report is None:
            return
        curve = self.curves[0]
        i = int(np.flatnonzero(curve.roc_thresholds >= t)[-1])  # the last point still predicting at >= t
        j = int(np.flatnonzero(curve.pr_thresholds >= t)[-1])
        self.threshold_marks[0].setData([curve.fpr[i]], [curve.tpr[i]])
        self.threshold_marks[1].setData([curve.recall[j]], [curve.precision[j]])
        (tn, fp), (fn, tp) = self.report.at_threshold(t).matrix.tolist()
        self.threshold_counts.setText(f"TP {tp:,}  FP {fp:,}  FN {fn:,}  TN {tn:,}")

    def _show_regression(self, report) -> None:
        layout = getattr(self.dataset, "series", None)
        if layout is not None and report.split in ("val", "test"):
            target = self.dataset.preprocessor.target.get("column") or "target"
            self.forecast_plot.show_forecast(layout, report, 1 if report.split == "val" else 2, target)
        self.regression_scores.setText(f"<b>R² {report.r2:.4f}</b> &nbsp; MAE {report.mae:.4g} &nbsp; "
                                       f"RMSE {report.rmse:.4g} &nbsp; ({len(report.true):,} {SPLIT_WORDS[report.split]} samples)")
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
        self.stack.setCurrentWidget(self.page)

    # -- cell samples ------------------------------------------------------------------------------
    @Slot(QModelIndex)
    def _on_cell_clicked(self, index: QModelIndex) -> None:
        if self.report is None or not index.isValid():
            return
        self.show_cell(index.row(), index.column())

    def show_cell(self, true_class: int, predicted_class: int) -> np.ndarray:
        """List the samples of one cell; returns their indices in the split shown."""
        from netstudio.core.data.preview import raw_features
        from netstudio.core.training.evaluation import sample_images

        report, data = self.confusion_model.report, self.dataset  # at the slider's threshold
        X = {"val": data.X_val, "test": data.X_test, "train": data.X_train}[report.split]
        rows = report.cell_samples(true_class, predicted_class)
        shown = rows[:MAX_SAMPLES]
        self._shown = np.asarray(shown, dtype=np.int64)
        more = f" (first {MAX_SAMPLES} shown)" if len(rows) > MAX_SAMPLES else ""
        self.cell_label.setText(f"True <b>{report.classes[true_class]}</b>, predicted "
                                f"<b>{report.classes[predicted_class]}</b>: {len(rows):,} samples{more}")
        if len(data.input_shape) == 3:
            self.samples_thumbs.clear()
            for i, pixels in zip(shown, sample_images(data, X[shown])):
                item = QListWidgetItem(QIcon(QPixmap.fromImage(_to_qimage(pixels))),
                                       f"{report.probabilities[i, predicted_class]:.0%}")
                hint = " (double-click: look inside with it)" if report.split == "val" else ""
                item.setToolTip(f"{SPLIT_WORDS[report.split]} sample {i + 1}{hint}")
                self.samples_thumbs.addItem(item)
            self.samples.setCurrentWidget(self.samples_thumbs)
        else:
            encoder = getattr(data.preprocessor, "encoder", None)
            if encoder is not None:  # token ids: show the texts they are
                values = np.array([[encoder.decode(ids)] for ids in X[shown]], dtype=object).reshape(len(shown), 1)
                names = [data.preprocessor.text["column"]]
            else:
                values = raw_features(data, X[shown].reshape(len(shown), int(np.prod(X.shape[1:]))))
                names = data.feature_names or [f"x{j + 1}" for j in range(values.shape[1] if values.ndim > 1 else 0)]
            headers = ["p(" + report.classes[predicted_class] + ")", *names]
            self.samples_table.clear()
            self.samples_table.setColumnCount(len(headers))
            self.samples_table.setHorizontalHeaderLabels(headers)
            self.samples_table.setRowCount(len(shown))
            for r, i in enumerate(shown):
                row = [f"{report.probabilities[i, predicted_class]:.3f}",
                       *[v if isinstance(v, str) else f"{v:.4g}" for v in values[r]]]
                for c, text in enumerate(row):
                    self.samples_table.setItem(r, c, QTableWidgetItem(text))
            self.samples.setCurrentWidget(self.samples_table)
        return rows


    def _choose(self, row: int) -> None:
        # the Inside view's samples are the validation split's: a test sample has no place there
        if self.confusion_model.report.split == "val" and 0 <= row < len(self._shown):
            self.sample_chosen.emit(int(self._shown[row]))


_to_qimage = pixels_to_qimage  # the samples' thumbnails
