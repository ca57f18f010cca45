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
from netstudio.ui.data.series_preview import SeriesPreview
from netstudio.ui.theme import class_color

#: Side of a thumbnail, in pixels.
THUMBNAIL_SIZE = 64
#: The summary's link that offers class weights as the fix of an imbalance warning.
CLASS_WEIGHTS_LINK = "netstudio:class-weights"
#: The summary's warnings and notes: at most this many lines, each at most this long.
SUMMARY_LINES, SUMMARY_LINE_CHARS = 30, 300
#: The preview table sizes this many columns (and rows) from their contents; the rest of a wide
#: table takes their mean width (sizing 6,832 columns froze the window for 23 s).
SIZED_COLUMNS, SIZED_ROWS = 40, 50


class DataPreview(QStackedWidget):
    """One of: a hint (no data yet), the table of the first rows, a scatter plot of 2-D points,
    thumbnails of an image folder, or a time series with its split marked (``empty``, ``table``,
    ``scatter``, ``thumbs``, ``series``)."""

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
        self.series = SeriesPreview()
        for w in (self.empty, self.table, self.scatter, self.thumbs, self.series):
            self.addWidget(w)

    def show_nothing(self) -> None:
        self.setCurrentWidget(self.empty)

    def show_loaded(self, loaded: LoadedData) -> None:
        """The table of the first rows, then (if there are some) the points or the thumbnails."""
        if loaded.preview is not None:
            self.table_model.set_frame(loaded.preview, loaded.target)
            self._size_columns()
            self.setCurrentWidget(self.table)
        if loaded.points is not None:
            self._draw_points(*loaded.points, loaded.dataset.classes)
            self.setCurrentWidget(self.scatter)
        if loaded.images:
            self._show_thumbnails(loaded.images)
            self.setCurrentWidget(self.thumbs)
        if getattr(getattr(loaded, "dataset", None), "series", None) is not None:
            self.series.show_series(loaded.dataset.series, loaded.target or "target")
            self.setCurrentWidget(self.series)

    def _size_columns(self) -> None:
        """Fit the first columns to their contents (sampling rows); the others take their mean."""
        header = self.table.horizontalHeader()
        header.setResizeContentsPrecision(SIZED_ROWS)
        columns = self.table_model.columnCount()
        widths = []
        for column in range(min(columns, SIZED_COLUMNS)):
            self.table.resizeColumnToContents(column)
            widths.append(header.sectionSize(column))
        if columns > SIZED_COLUMNS and widths:  # the unsized sections follow the default
            header.setDefaultSectionSize(int(sum(widths) / len(widths)))

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
            f"<li style='color:#b9770e'>{item}{fix.get(w, '')}</li>" for w, item in _shown_pairs(s.warnings)) + "</ul>"
    if s.notes:
        text += "<p><b>Notes</b></p><ul>" + "".join(f"<li>{item}</li>" for item in _shown(s.notes)) + "</ul>"
    return text


def _shown(lines: list[str]) -> list[str]:
    """*lines* as escaped list items, bounded (see :func:`_shown_pairs`)."""
    return [item for _line, item in _shown_pairs(lines)]


def _shown_pairs(lines: list[str]) -> list[tuple[str, str]]:
    """*lines* as ``(line, escaped list item)`` pairs, bounded: repeats collapsed into one with a
    count, each line cut at :data:`SUMMARY_LINE_CHARS`, at most :data:`SUMMARY_LINES` of them (a
    project that named a million missing columns made a million items, and froze the window
    rendering them). The last pair's line is ``""`` when it says how many more there are."""
    counts: dict[str, int] = {}
    for line in lines:
        counts[line] = counts.get(line, 0) + 1
    pairs = []
    for line, count in list(counts.items())[:SUMMARY_LINES]:
        cut = line if len(line) <= SUMMARY_LINE_CHARS else line[:SUMMARY_LINE_CHARS - 1] + "…"
        pairs.append((line, html.escape(cut) + (f" (×{count:,})" if count > 1 else "")))
    if len(counts) > SUMMARY_LINES:
        pairs.append(("", f"… and {len(counts) - SUMMARY_LINES:,} more"))
    return pairs
