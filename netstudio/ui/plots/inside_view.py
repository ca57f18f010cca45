"""The Inside view: what each layer does with a sample, how its weights and gradients spread over
training, what is wrong (diagnosis cards with one-click fixes), which inputs mattered, and Try it.

It only displays: :meth:`InsideView.show_snapshot`, :meth:`show_diagnoses`,
:meth:`show_attribution`, :meth:`show_try_result` take frozen values from the core and store
them; a QTimer redraws at most :data:`REDRAW_MS` apart. What the user asks for leaves as signals.

Signals
-------
sample_changed(int)
    The validation sample to look at.
remedy_requested(object)
    A :class:`~netstudio.core.training.diagnoses.Remedy` to apply.
explain_requested()
    Attribute the current sample's prediction (Integrated Gradients).
try_requested(object)
    ``{"values": {column: text}}`` or ``{"image": path}`` to predict.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from netstudio.core.training.try_it import input_columns

REDRAW_MS = 250
#: Snapshots of histograms kept per layer (older ones are thinned out, every other one dropped).
HISTORY = 240
#: Feature-map channels drawn per layer.
MAX_CHANNELS = 16
_COLORMAP = pg.colormap.get("viridis")
_DIVERGING = pg.colormap.get("CET-D1")


#: Pixels of one layer's picture: a vector's strip, a sequence's heatmap, a feature-map grid.
ROW_HEIGHTS = {1: 22, 2: 90, 3: 150}
LABEL_HEIGHT = 20


def _row_height(ndim: int) -> tuple[int, bool]:
    """How tall a layer's picture is drawn, and whether its pixels stay square (feature maps)."""
    return ROW_HEIGHTS.get(min(max(ndim, 1), 3)), ndim >= 3


def activation_image(values: np.ndarray) -> np.ndarray:
    """A layer's output as a 2-D picture (row-major): a vector as a 1×F strip, a sequence as T×F,
    feature maps ``[C, H, W]`` as a grid of up to :data:`MAX_CHANNELS` channel tiles."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 0:
        return values.reshape(1, 1)
    if values.ndim == 1:
        return values[None, :]
    if values.ndim == 2:
        return values
    maps = values.reshape(-1, *values.shape[-2:])[:MAX_CHANNELS]
    c, h, w = maps.shape
    cols = int(np.ceil(np.sqrt(c)))
    rows = int(np.ceil(c / cols))
    grid = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan, dtype=np.float32)
    for i, tile in enumerate(maps):
        r, q = divmod(i, cols)
        lo, hi = float(np.nanmin(tile)), float(np.nanmax(tile))
        grid[r * (h + 1):r * (h + 1) + h, q * (w + 1):q * (w + 1) + w] = (tile - lo) / (hi - lo) if hi > lo else 0
    return grid


#: Feature names written under a table's input strip (more: every k-th one).
MAX_INPUT_TICKS = 24
#: Pixels a character of the input's label takes (8 pt): it is cut to the column's width (a
#: wider label would widen the column past its scroll area), the whole text in its tooltip.
LABEL_CHAR_PX = 6.5


def input_image(sample: np.ndarray) -> tuple[np.ndarray, bool]:
    """The input sample as a picture (row-major) and whether it is RGB ``[H, W, 3]``: a table row
    as a 1×F strip, a sequence as T×F, an image ``[C, H, W]`` as itself (3 channels: colour,
    else its first channel in grey), scaled to 0-1."""
    values = np.asarray(sample, dtype=np.float32)
    if values.ndim != 3:
        return activation_image(values), False
    rgb = values.shape[0] == 3
    picture = np.moveaxis(values, 0, -1) if rgb else values[0]
    lo, hi = finite_range(picture)
    picture = np.nan_to_num((picture - lo) / (hi - lo) if hi > lo else picture * 0, nan=0.0)
    return picture.astype(np.float32), rgb


def finite_range(values: np.ndarray) -> tuple[float, float]:
    """The smallest and largest finite value, (0, 1) when there is none."""
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)


def show_heat(item, image: np.ndarray) -> None:
    """*image* (row-major) in a colour-mapped ImageItem, levels from its finite values."""
    lo, hi = finite_range(image)
    item.setImage(np.nan_to_num(image, nan=lo).T, levels=(lo, hi if hi > lo else lo + 1))


def describe_input(raw: np.ndarray, names: list) -> str:
    """The input's raw values by feature, ``name value · ...`` (tables), or its shape."""
    raw = np.asarray(raw)
    if raw.ndim == 1 and names and len(names) == raw.shape[0]:
        return " · ".join(f"{name} {value:.4g}" for name, value in zip(names, raw.tolist()))
    return "×".join(str(n) for n in raw.shape)


def entries_key(snapshot) -> tuple:
    """What the view's rows are built for: the input's shape, then the layers' names."""
    return (np.shape(snapshot.sample),) + tuple(layer.name for layer in snapshot.layers)


def histogram_image(histograms: list) -> tuple[np.ndarray, float, float]:
    """Histograms over steps on one value axis: ``(image [steps, bins], low, high)``, each row
    the share of values per bin (TensorBoard's view, as a heatmap)."""
    low = min(h.low for h in histograms)
    high = max(h.high for h in histograms)
    bins = len(histograms[0].counts)
    edges = np.linspace(low, high, bins + 1)
    rows = []
    for h in histograms:
        centers = (h.edges[:-1] + h.edges[1:]) / 2
        counts, _ = np.histogram(centers, bins=edges, weights=h.counts)
        total = counts.sum()
        rows.append(counts / total if total else counts)
    return np.asarray(rows, dtype=np.float32), low, high


class DiagnosisCard(QFrame):
    """One diagnosis: title, evidence, a button per remedy."""

    def __init__(self, diagnosis, on_remedy, parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("diagnosisCard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        title = QLabel(f"<b>{diagnosis.title}</b>")
        title.setWordWrap(True)
        evidence = QLabel(diagnosis.evidence)
        evidence.setWordWrap(True)
        layout.addWidget(title)
        layout.addWidget(evidence)
        self.buttons = []
        for remedy in diagnosis.remedies:
            button = QPushButton(remedy.label)
            button.setToolTip("Apply this fix (Edit › Undo takes it back)")
            button.clicked.connect(lambda _=False, r=remedy: on_remedy(r))
            layout.addWidget(button)
            self.buttons.append(button)


class InsideView(QWidget):
    """The Inside dock's widget (see the module docstring)."""

    sample_changed = Signal(int)
    remedy_requested = Signal(object)
    explain_requested = Signal()
    try_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._snapshot = None
        self._histograms: dict[str, list] = {}
        self._layer_names: tuple = ()
        self._images: list = []
        self._input_item = None  # the sample's own picture, drawn above the layers
        self._input_label = None
        self._preprocessor = None
        self._feature_names: list = []
        self._dirty = False
        self._fields: dict[str, QLineEdit] = {}
        self._image_input = False
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()

    # -- building --------------------------------------------------------------------------------
    def _build(self) -> None:
        self.sample = QSpinBox()
        self.sample.setRange(1, 1)
        self.sample.setToolTip("Which validation sample to look at (or double-click one of the Evaluation "
                               "view's samples, e.g. a misclassified one)")
        self.sample.valueChanged.connect(lambda value: self.sample_changed.emit(value - 1))
        self.layer = QComboBox()
        self.layer.setToolTip("The layer whose histograms are shown")
        self.layer.currentIndexChanged.connect(lambda _i: self._mark())
        self.which = QComboBox()
        self.which.addItems(["Weights", "Gradients"])
        self.which.setToolTip("Weights or gradients of the layer, over training (one row per snapshot)")
        self.which.currentIndexChanged.connect(lambda _i: self._mark())
        self.explain = QPushButton("Explain")
        self.explain.setToolTip("Which inputs made this prediction (Integrated Gradients)")
        self.explain.clicked.connect(lambda _=False: self.explain_requested.emit())
        for combo in (self.layer, self.which):  # a long layer name must not widen the window
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(4)
        bar = QHBoxLayout()
        for widget in (QLabel("Sample"), self.sample, QLabel("Histograms"), self.layer, self.which, self.explain):
            bar.addWidget(widget)
        bar.addStretch(1)
        self.status = QLabel("Train a model to look inside it.")
        self.status.setWordWrap(True)

        self.activations = pg.GraphicsLayoutWidget()
        self.activations.setToolTip("Each layer's output on the sample (bright: high)")
        self.activations.setMinimumWidth(160)
        self.activations_scroll = QScrollArea()
        self.activations_scroll.setWidgetResizable(True)
        self.activations_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.activations_scroll.setWidget(self.activations)
        self.histogram_plot = pg.PlotWidget()
        self.histogram_plot.setLabel("bottom", "snapshot")
        self.histogram_plot.setLabel("left", "value")
        self.histogram_plot.getAxis("left").enableAutoSIPrefix(False)
        self.histogram_item = pg.ImageItem()
        self.histogram_item.setColorMap(_COLORMAP)
        self.histogram_plot.addItem(self.histogram_item)
        self.attribution_plot = pg.PlotWidget()
        self.attribution_plot.setToolTip("Integrated Gradients: how much each input pushed the prediction")
        self.attribution_plot.setTitle("Attribution (press Explain)")
        middle = QSplitter(Qt.Orientation.Vertical)
        middle.addWidget(self.histogram_plot)
        middle.addWidget(self.attribution_plot)

        self.cards = QVBoxLayout()
        self.cards.addStretch(1)
        cards_widget = QWidget()
        cards_widget.setLayout(self.cards)
        cards_scroll = QScrollArea()
        cards_scroll.setWidgetResizable(True)
        cards_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        cards_scroll.setFrameShape(QFrame.Shape.NoFrame)
        cards_scroll.setWidget(cards_widget)
        diagnoses = QGroupBox("Diagnoses")
        QVBoxLayout(diagnoses).addWidget(cards_scroll)
        self.try_box = QGroupBox("Try it")
        self.try_form = QFormLayout()
        self.try_result = QLabel("Type values and press Predict.")
        self.try_result.setWordWrap(True)
        self.try_button = QPushButton("Predict")
        self.try_button.setToolTip("The current model's prediction for these values (live while training)")
        self.try_button.clicked.connect(lambda _=False: self.request_try())
        try_layout = QVBoxLayout(self.try_box)
        try_layout.addLayout(self.try_form)
        try_layout.addWidget(self.try_button)
        try_layout.addWidget(self.try_result)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(diagnoses)
        right.addWidget(self.try_box)
        right.setMinimumWidth(200)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.activations_scroll)
        split.addWidget(middle)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setStretchFactor(2, 2)
        split.setSizes([400, 360, 300])
        self.split = split
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        self.setAcceptDrops(True)

    # -- what the workflow tells it --------------------------------------------------------------
    def set_dataset(self, dataset) -> None:
        """A new dataset: the sample range, the Try it fields; forgets what it showed."""
        self._snapshot, self._histograms, self._layer_names = None, {}, ()
        self.activations.clear()
        self.activations.setMinimumHeight(0)
        self._images, self._input_item, self._input_label = [], None, None
        self._preprocessor = getattr(dataset, "preprocessor", None)
        self._feature_names = list(getattr(dataset, "feature_names", None) or [])
        self.layer.clear()
        self.histogram_item.clear()
        self.attribution_plot.clear()
        self.show_diagnoses(())
        typed = self.try_values()  # a new run on the same columns keeps what the user typed
        while self.try_form.rowCount():
            self.try_form.removeRow(0)
        self._fields = {}
        self._image_input = False
        if dataset is None:
            self.sample.setRange(1, 1)
            return
        pool = dataset.n_val or dataset.n_train
        self.sample.setRange(1, max(1, pool))
        pre = dataset.preprocessor
        if getattr(pre, "kind", None) == "images":
            self._image_input = True
            self.try_result.setText("Drop an image here (or press Predict to choose one).")
            self.try_button.setText("Choose Image…")
        else:
            self.try_button.setText("Predict")
            text = getattr(pre, "kind", None) == "text"
            for name in input_columns(dataset):
                field = QLineEdit()
                field.setPlaceholderText("a text to classify" if text else "missing")
                field.setToolTip(f"A text for {name}: split by the fitted tokenizer, as in training" if text
                                 else f"Raw value of {name} (empty: imputed as in training)")
                field.setText(typed.get(name, ""))
                field.returnPressed.connect(self.request_try)
                self.try_form.addRow(name, field)
                self._fields[name] = field
            self.try_result.setText("Type values and press Predict." if self._fields else
                                    "Try it takes table rows or images.")

    def sample_index(self) -> int:
        """The chosen sample's index in the validation split (0-based; the spin box counts from 1)."""
        return self.sample.value() - 1

    def choose_sample(self, index: int) -> None:
        """Look at validation sample *index* (0-based), e.g. one the Evaluation view lists."""
        self.sample.setValue(index + 1)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    @Slot(object)
    def show_snapshot(self, snapshot) -> None:
        self._snapshot = snapshot
        for layer in snapshot.layers:
            history = self._histograms.setdefault(layer.name, [])
            history.append((layer.weights, layer.gradients))
            if len(history) > HISTORY:
                del history[::2]
        self._mark()

    @Slot(object)
    def show_diagnoses(self, diagnoses) -> None:
        while self.cards.count() > 1:
            item = self.cards.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for i, diagnosis in enumerate(diagnoses):
            self.cards.insertWidget(i, DiagnosisCard(diagnosis, self.remedy_requested.emit))
        if not diagnoses:
            self.cards.insertWidget(0, QLabel("Nothing looks wrong." if self._snapshot else "No run yet."))

    def diagnosis_cards(self) -> list[DiagnosisCard]:
        return [self.cards.itemAt(i).widget() for i in range(self.cards.count())
                if isinstance(self.cards.itemAt(i).widget(), DiagnosisCard)]

    @Slot(object)
    def show_attribution(self, attribution) -> None:
        plot = self.attribution_plot
        plot.clear()
        plot.setTitle("Attribution (Integrated Gradients)")
        values = np.asarray(attribution.values, dtype=np.float32)
        plot.setAspectLocked(values.ndim == 2)
        if values.ndim == 2:
            limit = float(np.abs(values).max()) or 1.0
            item = pg.ImageItem(values.T)
            item.setColorMap(_DIVERGING)
            item.setLevels((-limit, limit))
            plot.addItem(item)
            plot.getViewBox().invertY(True)
            plot.getAxis("bottom").setTicks(None)
            return
        plot.getViewBox().invertY(False)
        x = np.arange(len(values))
        brushes = [pg.mkBrush("#2a9d8f") if v >= 0 else pg.mkBrush("#e76f51") for v in values]
        plot.addItem(pg.BarGraphItem(x=x, height=values, width=0.7, brushes=brushes))
        plot.getAxis("bottom").setTicks([[(i, str(n)[:12]) for i, n in enumerate(attribution.names)]])

    @Slot(object)
    def show_try_result(self, result) -> None:
        if isinstance(result, str):
            self.try_result.setText(result)
            return
        if result.probabilities is None:
            self.try_result.setText(f"<b>Prediction: {result.prediction:.6g}</b>")
            return
        ranked = sorted(result.probabilities.items(), key=lambda kv: -kv[1])
        rows = "<br>".join(f"{name}: {p:.1%}" for name, p in ranked[:8])
        self.try_result.setText(f"<b>Prediction: {result.prediction}</b><br>{rows}")

    # -- Try it ----------------------------------------------------------------------------------
    def request_try(self) -> None:
        if self._image_input:
            path, _ = QFileDialog.getOpenFileName(self, "Try an Image", "", "Images (*.png *.jpg *.jpeg *.bmp *.gif)")
            if path:
                self.try_requested.emit({"image": path})
            return
        if self._fields:
            self.try_requested.emit({"values": self.try_values()})

    def is_image_input(self) -> bool:
        """Whether Try it takes an image (else typed column values)."""
        return self._image_input

    def try_values(self) -> dict:
        """The Try it fields' texts by column (empty ones included)."""
        return {name: f.text().strip() for name, f in self._fields.items()}

    def set_try_values(self, values: dict) -> None:
        for name, text in values.items():
            if name in self._fields:
                self._fields[name].setText(str(text))

    def dragEnterEvent(self, event):  # noqa: N802 - Qt's name
        if self._image_input and event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802 - Qt's name
        urls = event.mimeData().urls()
        if self._image_input and urls:
            self.try_requested.emit({"image": urls[0].toLocalFile()})
            event.acceptProposedAction()

    # -- drawing ---------------------------------------------------------------------------------
    def _mark(self) -> None:
        self._dirty = True

    @Slot()
    def redraw(self) -> None:
        if not self._dirty or self._snapshot is None:
            return
        self._dirty = False
        snapshot = self._snapshot
        if entries_key(snapshot) != self._layer_names:
            self._rebuild_activations(snapshot)
        self._draw_input(snapshot.sample)
        for item, layer in zip(self._images, snapshot.layers):
            show_heat(item, activation_image(layer.activation))
        self.status.setText(f"Step {snapshot.step}, epoch {snapshot.epoch}"
                            + (f" · gradient norm {snapshot.gradient_norm:.3g}" if snapshot.gradient_norm else ""))
        self._draw_histograms()

    def _draw_input(self, sample) -> None:
        if self._input_item is None or sample is None:
            return
        picture, rgb = input_image(sample)
        if rgb:
            self._input_item.setImage(np.transpose(picture, (1, 0, 2)), levels=(0.0, 1.0))
        else:
            show_heat(self._input_item, picture)
        from netstudio.core.training.inspection import raw_sample

        raw = raw_sample(self._preprocessor, sample)
        text = f"Input: sample {self.sample.value()} · {describe_input(raw, self._feature_names)}"
        chars = max(24, int(self.activations_scroll.viewport().width() / LABEL_CHAR_PX) - 4)
        self._input_label.setText(text if len(text) <= chars else text[:chars - 1] + "…")
        self._input_label.setToolTip(text)

    def input_text(self) -> str:
        """The input entry's full text (its label, unelided)."""
        return self._input_label.toolTip() if self._input_label is not None else ""

    def _add_input_row(self, sample) -> int:
        """The sample itself, the first entry: a table row's strip with the feature names under it,
        a sequence's T×F heatmap, an image as an image. Returns its height in pixels."""
        self._input_label = self.activations.addLabel("Input", row=0, col=0, justify="left", size="8pt")
        ndim = np.ndim(sample)
        names = self._feature_names
        features = np.shape(sample)[-1] if ndim in (1, 2) else 0
        if ndim in (1, 2) and names and len(names) == features:
            plot = self.activations.addPlot(row=1, col=0)
            plot.hideAxis("left")
            plot.setMouseEnabled(False, False)
            plot.hideButtons()
            step = max(1, int(np.ceil(features / MAX_INPUT_TICKS)))
            plot.getAxis("bottom").setTicks([[(i + 0.5, str(n)[:12]) for i, n in enumerate(names) if i % step == 0], []])
            box = plot.getViewBox()
            height = ROW_HEIGHTS[ndim] + 34
            plot.setFixedHeight(height)
        else:
            box = self.activations.addViewBox(row=1, col=0, lockAspect=ndim >= 3, enableMouse=False)
            height = ROW_HEIGHTS[min(max(ndim, 1), 3)]
            box.setFixedHeight(height)
        box.invertY(True)
        self._input_item = pg.ImageItem()
        if ndim != 3 or np.shape(sample)[0] != 3:
            self._input_item.setColorMap(_COLORMAP)
        box.addItem(self._input_item)
        return height + LABEL_HEIGHT

    def _rebuild_activations(self, snapshot) -> None:
        self._layer_names = entries_key(snapshot)
        self.activations.clear()
        self._images, self._input_item, self._input_label = [], None, None
        current = self.layer.currentText()
        self.layer.blockSignals(True)
        self.layer.clear()
        total = 0
        first = 0
        if snapshot.sample is not None:
            total += self._add_input_row(snapshot.sample)
            first = 1
        for row, layer in enumerate(snapshot.layers, start=first):
            stats = layer.stats
            extra = ""
            if stats.dead_fraction is not None:
                extra = f" · {stats.dead_fraction:.0%} dead"
            elif stats.saturated_fraction is not None:
                extra = f" · {stats.saturated_fraction:.0%} saturated"
            label = f"{layer.name} ({layer.type}) {list(stats.shape)}{extra}"
            self.activations.addLabel(label, row=2 * row, col=0, justify="left", size="8pt")
            height, square = _row_height(np.ndim(layer.activation))
            box = self.activations.addViewBox(row=2 * row + 1, col=0, lockAspect=square, enableMouse=False)
            box.setFixedHeight(height)
            box.invertY(True)
            total += height + LABEL_HEIGHT
            item = pg.ImageItem()
            item.setColorMap(_COLORMAP)
            box.addItem(item)
            self._images.append(item)
            if layer.weights is not None:
                self.layer.addItem(layer.name)
        self.activations.setMinimumHeight(total + 8)
        index = self.layer.findText(current)
        self.layer.setCurrentIndex(max(0, index))
        self.layer.blockSignals(False)

    def _draw_histograms(self) -> None:
        history = self._histograms.get(self.layer.currentText(), [])
        which = self.which.currentIndex()
        histograms = [entry[which] for entry in history if entry[which] is not None]
        if not histograms:
            self.histogram_item.clear()
            return
        image, low, high = histogram_image(histograms)
        self.histogram_item.setImage(image, levels=(0, float(image.max()) or 1.0))
        self.histogram_item.setRect(QRectF(0, low, len(histograms), (high - low) or 1.0))
        self.histogram_plot.setTitle(f"{self.layer.currentText()}: {self.which.currentText().lower()}")
