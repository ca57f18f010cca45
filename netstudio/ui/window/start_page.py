"""The start page, shown in the middle of the window on a launch without a project: a bundled
sample (data and design ready: one more click on Train), a template, a recent project, or your
own CSV or image folder. Any choice (or a project opened any other way) puts the design back."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import (
    QCommandLinkButton,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from netstudio.core.design.templates import TEMPLATES
from netstudio.ui.icons import category_icon, icon
from netstudio.ui.widgets import scrollable

#: The bundled samples, listed in this order (first steps first), each with its one line (a
#: sample not listed here comes last and says what its project holds).
SAMPLE_NOTES = {
    "iris": "150 flowers, 3 species: a first classifier (4 → 16 → 3)",
    "spiral": "Two interleaved spirals: watch the decision boundary form",
    "first-network": "The classic first PyTorch network: 10 features → 5 → 1, yes or no",
    "shapes": "240 small images of 3 shapes: a tiny CNN",
    "house-prices": "400 houses, a messy CSV: predict the price (regression)",
    "reviews": "600 short reviews, positive or negative: a text classifier with embeddings",
    "energy-load": "6 weeks of hourly electricity load: forecast the next hour with an LSTM",
}
THUMB = QSize(96, 20)


def design_thumbnail(layer_types: list[str]) -> QPixmap:
    """A row of the layers' category icons: what the design is made of, at a glance."""
    from netstudio.core.design.layers import get_layer_type

    pixmap = QPixmap(THUMB)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    side = THUMB.height() - 4
    for n, name in enumerate(layer_types[: THUMB.width() // (side + 2)]):
        try:
            category = get_layer_type(name).category
        except Exception:  # a type this version does not know: a plain square
            category = "core"
        category_icon(category).paint(painter, n * (side + 2), 2, side, side)
    painter.end()
    return pixmap


def sample_projects() -> list[tuple[str, str, list[str]]]:
    """(name, one line, layer types) of each bundled sample project."""
    from netstudio.core.data.load import samples_dir
    from netstudio.core.project import load_project

    folder = samples_dir()
    found = []
    order = list(SAMPLE_NOTES)
    paths = folder.glob("*.nsproj") if folder.is_dir() else []
    for path in sorted(paths, key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.stem)):
        try:
            project = load_project(path)
        except Exception:  # a broken sample must not take the start page down
            continue
        types = [spec.type for spec in project.stack]
        note = SAMPLE_NOTES.get(path.stem, f"{len(types)} layers on the {path.stem} data")
        found.append((path.stem, note, types))
    return found


def _choice(title: str, note: str, thumbnail: QPixmap | None, object_name: str) -> QCommandLinkButton:
    """A title over a one-line description (wrapped in a narrow window), the design's thumbnail left."""
    button = QCommandLinkButton(title, note)
    button.setObjectName(object_name)
    button.setToolTip(note)
    if thumbnail is not None:
        button.setIcon(thumbnail)
        button.setIconSize(THUMB)
    return button


class StartPage(QWidget):
    """What to start with.

    Signals
    -------
    sample_chosen(str), template_chosen(str), recent_chosen(str)
        A bundled sample's name, a template's key, a recent project's path.
    open_project_requested(), open_data_requested(), open_images_requested()
        The user wants a file dialog: a project, a CSV file, an image folder.
    """

    sample_chosen = Signal(str)
    template_chosen = Signal(str)
    recent_chosen = Signal(str)
    open_project_requested = Signal()
    open_data_requested = Signal()
    open_images_requested = Signal()

    def __init__(self, recent_files: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("startPage")
        self.samples: dict[str, QCommandLinkButton] = {}
        self.templates: dict[str, QCommandLinkButton] = {}
        title = QLabel("<h2>Start</h2>Pick a sample to train in one more click (F5), a template to "
                       "fill with your data, or your own files.")
        title.setWordWrap(True)
        inner = QWidget()
        inner_layout = QVBoxLayout(inner)  # one column: it fits the middle of a 1280x800 window
        inner_layout.addWidget(title)  # samples first: at the smallest window size iris shows unscrolled
        inner_layout.addWidget(self._samples_box())
        inner_layout.addWidget(self._open_box(recent_files))
        inner_layout.addWidget(self._templates_box())
        inner_layout.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scrollable(inner))

    def _samples_box(self) -> QGroupBox:
        box = QGroupBox("Try a sample (data and design ready)")
        layout = QVBoxLayout(box)
        for name, note, types in sample_projects():
            button = _choice(name, note, design_thumbnail(types), f"sample_{name}")
            button.clicked.connect(lambda _=False, n=name: self.sample_chosen.emit(n))
            layout.addWidget(button)
            self.samples[name] = button
        if not self.samples:
            layout.addWidget(QLabel("No bundled samples were found."))
        return box

    def _templates_box(self) -> QGroupBox:
        box = QGroupBox("Start from a template")
        layout = QVBoxLayout(box)
        for template in TEMPLATES:
            types = [layer["type"] for layer in template.layers]
            button = _choice(template.title, template.description, design_thumbnail(types),
                             f"template_{template.key}")
            button.clicked.connect(lambda _=False, k=template.key: self.template_chosen.emit(k))
            layout.addWidget(button)
            self.templates[template.key] = button
        return box

    def _open_box(self, recent_files: list[str]) -> QGroupBox:
        box = QGroupBox("Open")
        layout = QVBoxLayout(box)
        row = QGridLayout()  # two a row: the middle of a small window stays narrow
        for n, (text, tip, signal, icon_name) in enumerate((
                ("Open Project…", "A .nsproj file", self.open_project_requested, "open"),
                ("Open CSV File…", "A CSV/TSV table or a NumPy .npz file: choose its target, then add layers",
                 self.open_data_requested, None),
                ("Open Image Folder…", "A folder with one sub-folder of images per class", self.open_images_requested,
                 None))):
            button = QPushButton(text)
            button.setToolTip(tip)
            if icon_name:
                button.setIcon(icon(icon_name))
            button.clicked.connect(lambda _=False, s=signal: s.emit())
            row.addWidget(button, n // 2, n % 2)
        row.setColumnStretch(2, 1)
        layout.addLayout(row)
        self.recent_buttons = []
        for path in recent_files[:6]:
            button = QPushButton(f"{Path(path).name}  —  {Path(path).parent}")
            button.setFlat(True)
            button.setToolTip(path)
            button.setStyleSheet("QPushButton { text-align: left; }")
            button.clicked.connect(lambda _=False, p=path: self.recent_chosen.emit(p))
            layout.addWidget(button)
            self.recent_buttons.append(button)
        if not recent_files:
            layout.addWidget(QLabel("Recent projects appear here."))
        return box
