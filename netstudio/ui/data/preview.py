"""What the Data panel shows of a loaded dataset: its first rows, its 2-D points or its images,
and the summary (rows, classes, missing values, notes and warnings) as HTML."""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QImageReader, QPixmap
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QTableView,
)

from netstudio.core.data.common import imbalance_warnings
from netstudio.core.data.preview import LoadedData
from netstudio.ui.data.models import FrameModel
from netstudio.ui.theme import class_color

#: Side of a thumbnail, in pixels.
THUMBNAIL_SIZE = 64
#: The summary's link that offers class weights as the fix of an imbalance warning.
CLASS_WEIGHTS_LINK = "netstudio:class-weights"


class DataPreview(QStackedWidget):
    """One of: a hint (no data yet), the table of the first rows, a scatter plot of 2-D points, or
    thumbnails of an image folder (``empty``, ``table``, ``scatter``, ``thumbs``)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table_model = FrameModel()
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.scatter = pg.PlotWidget()
        self.scatter.setMenuEnabled(False)
        self.thumbs = QListWidget()
        self.thumbs.setViewMode(QListWidget.ViewMode.IconMode)
        self.thumbs.setIconSize(pg.QtCore.QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        self.thumbs.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.empty = QLabel("Open a CSV or .npz file or an image folder, pick a sample, or generate a synthetic "
                            "dataset. You can also drop a file or folder on the window.")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for w in (self.empty, self.table, self.scatter, self.thumbs):
            self.addWidget(w)

    def show_nothing(self) -> None:
        self.setCurrentWidget(self.empty)

    def show_loaded(self, loaded: LoadedData) -> None:
        """The table of the first rows, then (if there are some) the points or the thumbnails."""
        if loaded.preview is not None:
            self.table_model.set_frame(loaded.preview, loaded.target)
            self.table.resizeColumnsToContents()
            self.setCurrentWidget(self.table)
        if loaded.points is not None:
            self._draw_points(*loaded.points, loaded.dataset.classes)
            self.setCurrentWidget(self.scatter)
        if loaded.images:
            self._show_thumbnails(loaded.images)
            self.setCurrentWidget(self.thumbs)

    def _draw_points(self, X, y, classes) -> None:
        self.scatter.clear()
        for index, name in enumerate(classes or []):
            mask = y == index
            self.scatter.plot(X[mask, 0], X[mask, 1], pen=None, symbol="o", symbolSize=5, symbolPen=None,
                              symbolBrush=class_color(index), name=name)

    def _show_thumbnails(self, images) -> None:
        self.thumbs.clear()
        for path, label in images:
            reader = QImageReader(path)
            reader.setAutoTransform(True)
            size = reader.size()
            if size.isValid():
                reader.setScaledSize(size.scaled(THUMBNAIL_SIZE, THUMBNAIL_SIZE, Qt.AspectRatioMode.KeepAspectRatio))
            image = reader.read()
            item = QListWidgetItem(QIcon(QPixmap.fromImage(image)) if not image.isNull() else QIcon(), label)
            item.setToolTip(path)
            self.thumbs.addItem(item)


def summary_html(data) -> str:
    """The dataset summary as simple HTML for the Summary tab."""
    s = data.summary
    test = f", {data.n_test:,} test" if data.n_test else ""
    rows = [("Rows", f"{s.rows:,} ({data.n_train:,} training, {data.n_val:,} validation{test})"),
            ("Features", f"{s.features:,}"), ("Input shape", "[" + ", ".join(map(str, data.input_shape)) + "]"),
            ("Task", data.task)]
    if s.class_counts:
        rows.append(("Classes", ", ".join(f"{html.escape(str(k))}: {v:,}" for k, v in s.class_counts.items())))
    if data.task == "regression":
        rows.append(("Target", f"mean {data.target_mean:.4g}, std {data.target_std:.4g}"))
    rows.append(("Missing values", f"{s.missing_values:,}"))
    rows.append(("Dropped rows", f"{s.dropped_rows:,}"))
    text = "<table cellspacing='4'>" + "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows) + "</table>"
    if s.warnings:
        fix = {w: f" <a href='{CLASS_WEIGHTS_LINK}'>Weight the classes in the loss</a>"
               for w in imbalance_warnings(s.class_counts or {})}
        text += "<p><b style='color:#b9770e'>Warnings</b></p><ul>" + "".join(
            f"<li style='color:#b9770e'>{html.escape(w)}{fix.get(w, '')}</li>" for w in s.warnings) + "</ul>"
    if s.notes:
        text += "<p><b>Notes</b></p><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in s.notes) + "</ul>"
    return text
