"""The data panel: choose a dataset, preview it, set column roles and the split, see a summary.

Loading runs off the GUI thread with a progress bar and a Cancel button. Every change the user
makes becomes a new ``data`` section (``data_config_changed``) and a fresh background load; a
successful load emits ``dataset_loaded`` so the stack's input row and "auto" width follow.
"""

from __future__ import annotations

import copy
import html
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTabWidget,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from netstudio.core.config import Augment, DataConfig, data_defaults, settings, validate_data
from netstudio.core.data.preview import LoadedData, load_for_panel
from netstudio.core.errors import NetStudioError
from netstudio.ui.data.preview import CLASS_WEIGHTS_LINK, DataPreview, summary_html
from netstudio.ui.data.series_options import SeriesOptions
from netstudio.ui.data.text_box import TextSettingsBox
from netstudio.ui.tasks import TaskRunner
from netstudio.ui.widgets import (
    check_box,
    choice_box,
    double_spin_box,
    pixels_to_qimage,
    select,
    spin_box,
)

ROLES = ("feature", "target", "exclude", "text")
#: The Augmented tab: training images shown, augmented draws of each, thumbnail side in pixels.
AUGMENT_ROWS, AUGMENT_DRAWS, AUGMENT_THUMBNAIL = 6, 3, 64
DATA_FILTER = "Data files (*.csv *.tsv *.txt *.tab *.psv *.npz *.csv.gz *.tsv.gz);;All files (*)"


class DataPanel(QWidget):
    """Choose and inspect the project's dataset.

    Signals
    -------
    data_config_changed(dict)
        The user changed the data section (a new file, a column role, the split...).
    dataset_loaded(object)
        A :class:`~netstudio.core.data.dataset.Dataset` is ready.
    dataset_failed(str)
        The last load failed with this one-line message (the previous dataset is dropped).
    loading_changed(bool)
    class_weights_requested()
        The user took the imbalance warning's fix: weight the classes in the loss.
    """

    class_weights_requested = Signal()
    data_config_changed = Signal(object)
    dataset_loaded = Signal(object)
    dataset_failed = Signal(str)
    loading_changed = Signal(bool)
    load_refused = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("dataPanel")
        self.setAcceptDrops(False)  # the main window takes file drops and calls open_path
        self.config: dict = {}
        self.base_dir = Path.cwd()
        self.loaded: LoadedData | None = None
        self._table_cache: tuple | None = None
        self._pending: dict | None = None
        self._filling = False
        self.is_loading = False  # from a load request until its result (or failure) has arrived
        self.locked = False  # a run is training on the loaded data: no other data until it ends
        self.runner = TaskRunner(self)
        self.runner.progressed.connect(self._on_progress)
        self.runner.succeeded.connect(self._on_loaded)
        self.runner.task_failed.connect(self._on_failed)
        self.runner.running_changed.connect(self._on_running_changed)
        self._build()
        self._show_nothing()

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_sources())
        layout.addWidget(self._build_synthetic())
        self.source_label = QLabel()
        self.source_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.source_label.setWordWrap(True)
        layout.addWidget(self.source_label)
        layout.addWidget(self._build_loading_row())
        layout.addWidget(self._build_tabs(), 1)
        layout.addWidget(self._build_options())
        self.series_box = SeriesOptions()
        self.series_box.hide()
        self.series_box.sequence_edited.connect(self._on_sequence_edited)
        layout.addWidget(self.series_box)
        layout.addWidget(self._build_augment())
        self.text_box = TextSettingsBox()
        self.text_box.hide()
        self.text_box.tokenizer_edited.connect(self._on_tokenizer_edited)
        layout.addWidget(self.text_box)

    def _build_sources(self) -> QGridLayout:
        """Open File…, Open Image Folder…, Samples."""
        self.open_button = QPushButton("Open File…")
        self.open_button.setToolTip("A CSV/TSV table or a NumPy .npz file (X, y)")
        self.open_button.clicked.connect(lambda: self.open_file_dialog())
        self.folder_button = QPushButton("Open Image Folder…")
        self.folder_button.setToolTip("A folder with one sub-folder of images per class")
        self.folder_button.clicked.connect(lambda: self.open_folder_dialog())
        self.sample_button = QToolButton(text="Samples")
        self.sample_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.sample_button.setToolTip("Small datasets that come with NetStudio")
        self.sample_menu = QMenu(self)
        self.sample_menu.aboutToShow.connect(self.fill_sample_menu)
        self.sample_button.setMenu(self.sample_menu)
        top = QGridLayout()  # two a row: the three side by side made the data dock scroll sideways
        top.addWidget(self.open_button, 0, 0)
        top.addWidget(self.sample_button, 0, 1)
        top.addWidget(self.folder_button, 1, 0)
        top.setColumnStretch(2, 1)
        return top

    def _build_synthetic(self) -> QGroupBox:
        """The generator of synthetic 2-D sets: kind, samples, noise."""
        s = settings(DataConfig)
        self.kind = choice_box(s["kind"])
        self.samples = spin_box(s["samples"], singleStep=100)
        self.noise = double_spin_box(s["noise"], 2, singleStep=0.05)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("A two-feature dataset to see the decision boundary form")
        self.generate_button.clicked.connect(lambda: self.use_synthetic(self.kind.currentData(), self.samples.value(),
                                                                        self.noise.value()))
        grid = QGridLayout()  # one control a row: the data dock is often narrow
        for row, (label, widget) in enumerate((("Kind", self.kind), ("Samples", self.samples), ("Noise", self.noise))):
            grid.addWidget(QLabel(label), row, 0)
            grid.addWidget(widget, row, 1)
        grid.addWidget(self.generate_button, 3, 0, 1, 2)
        grid.setColumnStretch(1, 1)
        self.synthetic_box = QGroupBox("Synthetic 2-D data")
        self.synthetic_box.setLayout(grid)
        return self.synthetic_box

    def _build_loading_row(self) -> QWidget:
        """The progress bar and Cancel button, shown while a load runs."""
        self.progress = QProgressBar()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: self.runner.cancel())
        loading = QHBoxLayout()
        loading.addWidget(self.progress, 1)
        loading.addWidget(self.cancel_button)
        self.loading_row = QWidget()
        self.loading_row.setLayout(loading)
        self.loading_row.hide()
        return self.loading_row

    def _build_tabs(self) -> QTabWidget:
        """Preview, Columns (each column's role) and Summary."""
        self.preview = DataPreview()
        self.roles = QTableWidget(0, 2)
        self.roles.setHorizontalHeaderLabels(["Column", "Role"])
        self.roles.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.roles.verticalHeader().hide()
        self.summary = QTextBrowser()
        self.summary.setObjectName("dataSummary")
        self.summary.setOpenLinks(False)
        self.summary.anchorClicked.connect(self._on_summary_link)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.preview, "Preview")
        self.tabs.addTab(self.roles, "Columns")
        self.tabs.addTab(self.summary, "Summary")
        self.augmented = QListWidget()
        self.augmented.setObjectName("augmentedPreview")
        self.augmented.setViewMode(QListWidget.ViewMode.IconMode)
        self.augmented.setIconSize(QSize(AUGMENT_THUMBNAIL, AUGMENT_THUMBNAIL))
        self.augmented.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.augmented.setMovement(QListWidget.Movement.Static)
        self.augmented.setSpacing(4)
        self.augmented.setToolTip("Training images as batches see them after augmentation: each original "
                                  f"followed by {AUGMENT_DRAWS} random draws of it")
        self.tabs.addTab(self.augmented, "Augmented")
        return self.tabs

    def _build_augment(self) -> QGroupBox:
        """data.augment (images): flips, rotation, shift, brightness and contrast of training batches."""
        s = settings(Augment)
        self.hflip = check_box(s["hflip"], "Flip left–right")
        self.vflip = check_box(s["vflip"], "Flip up–down")
        self.rotate = double_spin_box(s["rotate"], 0, suffix="°", singleStep=5)
        self.shift = double_spin_box(s["shift"], 0, suffix=" px")
        self.brightness = double_spin_box(s["brightness"], 2, singleStep=0.05)
        self.contrast = double_spin_box(s["contrast"], 2, singleStep=0.05)
        form = QFormLayout()  # one flip a row, a short title: the data dock stays narrow
        form.addRow("Flips", self.hflip)
        form.addRow("", self.vflip)
        form.addRow("Rotate ±", self.rotate)
        form.addRow("Shift ±", self.shift)
        form.addRow("Brightness ±", self.brightness)
        form.addRow("Contrast ±", self.contrast)
        self.augment_box = QGroupBox("Augmentation")
        self.augment_box.setToolTip("Training images only: random changes to every training batch, on the training device; validation "
                                    "and test images are never changed")
        self.augment_box.setLayout(form)
        self.augment_box.hide()
        for box in (self.hflip, self.vflip):
            box.toggled.connect(self._on_augment_edited)
        for box in (self.rotate, self.shift, self.brightness, self.contrast):
            box.valueChanged.connect(self._on_augment_edited)
        return self.augment_box

    def _build_options(self) -> QGroupBox:
        """How the data is prepared: task, validation split, split seed, standardisation."""
        s = settings(DataConfig)
        self.target = QComboBox()
        self.target.setObjectName("targetChooser")
        self.target.setToolTip("The column to predict. NetStudio guesses one (a column named like a label, "
                               "or one of classes; never an id, a year or a date): check it here")
        self.target.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.target.setMinimumContentsLength(8)
        self.task = choice_box(s["task"])
        self.task.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.task.setMinimumContentsLength(12)  # a long label is elided, the dock not widened
        self.detected = QLabel()
        self.detected.setObjectName("detectedTask")
        self.detected.setWordWrap(True)  # its own row: the data dock stays narrow
        self.split = double_spin_box(s["validation_split"], 2, singleStep=0.05)
        self.test_split = double_spin_box(s["test_split"], 2, singleStep=0.05)
        self.normalize = check_box(s["normalize"], "Standardise features")
        self.seed = spin_box(s["seed"])
        form = QFormLayout()
        form.addRow("Target", self.target)
        form.addRow("Task", self.task)
        form.addRow("", self.detected)
        form.addRow("Validation split", self.split)
        form.addRow("Test split", self.test_split)
        form.addRow("Split seed", self.seed)
        form.addRow("", self.normalize)
        self.options = QGroupBox("Preparation")
        self.options.setLayout(form)
        self.options_form = form
        form.setRowVisible(self.target, False)
        self.target.currentIndexChanged.connect(self._on_target_chosen)
        self.task.currentIndexChanged.connect(self._on_options_edited)
        self.split.valueChanged.connect(self._on_options_edited)
        self.test_split.valueChanged.connect(self._on_options_edited)
        self.seed.valueChanged.connect(self._on_options_edited)
        self.normalize.toggled.connect(self._on_options_edited)
        return self.options

    # -- choosing data -----------------------------------------------------------------------------
    def set_project(self, project) -> None:
        """Show *project*'s data section and load it in the background (nothing if it has none)."""
        self.base_dir = project.base_dir
        self._table_cache = None
        try:
            self.config = validate_data(copy.deepcopy(project.data))
        except NetStudioError as exc:
            self.config, self.loaded = {}, None
            self._fill_options()
            self._show_error(str(exc))
            return
        self._fill_options()
        if self.config:
            self._load()
        else:
            self.loaded = None
            self._show_nothing()

    def open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Data File", str(self.base_dir), DATA_FILTER)
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open Image Folder", str(self.base_dir))
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> None:
        """Use a CSV/TSV/.npz file or an image folder as the project's data."""
        path = Path(path)
        source = "images" if path.is_dir() else ("npz" if path.suffix.lower() == ".npz" else "csv")
        keep = {k: self.config[k] for k in ("validation_split", "test_split", "normalize", "seed") if k in self.config}
        self._table_cache = None
        self._apply({"source": source, "path": str(path.absolute()), **keep})

    def use_sample(self, name: str) -> None:
        self._apply({"source": "sample", "name": name})

    def use_synthetic(self, kind: str, samples: int, noise: float) -> None:
        keep = {k: self.config[k] for k in ("validation_split", "test_split", "seed") if k in self.config}
        self._apply({"source": "synthetic", "kind": kind, "samples": samples, "noise": noise, **keep})

    def fill_sample_menu(self) -> None:
        """List the bundled samples in :attr:`sample_menu` (it fills itself when it opens)."""
        from netstudio.core.data.load import samples_dir

        self.sample_menu.clear()
        folder = samples_dir()
        names = sorted(p.stem for p in folder.glob("*.nsproj")) if folder.is_dir() else []
        for name in names:
            action = self.sample_menu.addAction(name)
            action.triggered.connect(lambda checked=False, n=name: self.use_sample(n))
        if not names:
            self.sample_menu.addAction("(no samples found)").setEnabled(False)

    def set_locked(self, locked: bool) -> None:
        """Refuse every change of data while *locked* (a run trains on the loaded data: another
        dataset would change the locked design's input shape mid-run)."""
        self.locked = locked
        self.setEnabled(not locked)

    def _refused(self) -> bool:
        if self.locked:
            self.load_refused.emit("Training is running: the data cannot change until the run ends")
        return self.locked

    def _apply(self, config: dict) -> None:
        if self._refused():
            return
        try:
            config = validate_data(config)
        except NetStudioError as exc:
            self._show_error(str(exc))
            return
        self.config = config
        self._fill_options()
        self.data_config_changed.emit(copy.deepcopy(config))
        self._load()

    def reload(self) -> None:
        if self.config and not self._refused():
            self._load()

    # -- loading -----------------------------------------------------------------------------------
    def _load(self) -> None:
        if self.runner.is_running:  # the newest request wins once the running one ends
            self._pending = copy.deepcopy(self.config)
            self.runner.cancel()
            return
        config, base, table = copy.deepcopy(self.config), self.base_dir, self._table_cache
        self._set_loading(True)
        self.progress.setRange(0, 0)
        self.runner.start(lambda progress, cancel: load_for_panel(config, base, progress, cancel, table))

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))

    def _set_loading(self, loading: bool) -> None:
        if loading != self.is_loading:
            self.is_loading = loading
            self.loading_changed.emit(loading)

    @Slot(bool)
    def _on_running_changed(self, running: bool) -> None:
        self.loading_row.setVisible(running)
        if not running and self._pending is not None:
            self.config, self._pending = self._pending, None
            self._load()

    @Slot(object)
    def _on_loaded(self, loaded: LoadedData) -> None:
        if self._pending is not None:
            return
        self._set_loading(False)
        self.loaded = loaded
        self._table_cache = loaded.table
        self._show_loaded(loaded)
        self._show_augmented()
        self.dataset_loaded.emit(loaded.dataset)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._pending is not None:
            return
        self._set_loading(False)
        if message == "cancelled":
            return
        self.loaded = None
        self._show_error(message)
        self.dataset_failed.emit(message)

    def shutdown(self) -> None:
        self._pending = None
        self.runner.shutdown()
        self._set_loading(False)

    @property
    def dataset(self):
        return self.loaded.dataset if self.loaded else None

    # -- showing -----------------------------------------------------------------------------------
    def _show_nothing(self) -> None:
        self.source_label.setText("No dataset yet.")
        self.preview.show_nothing()
        self.roles.setRowCount(0)
        self.options_form.setRowVisible(self.target, False)
        self.summary.setHtml("<p>No dataset loaded.</p>")
        self.detected.clear()
        self.augment_box.hide()
        self.text_box.hide()

    def _show_error(self, message: str) -> None:
        self.augment_box.hide()
        self.text_box.hide()
        self.source_label.setText(f"<span style='color:#c0392b'>Cannot use this data: {html.escape(message)}</span>")
        self.summary.setHtml(f"<p style='color:#c0392b'><b>Cannot use this data.</b><br>{html.escape(message)}</p>")
        self.tabs.setCurrentWidget(self.summary)

    def _describe_source(self) -> str:
        c = self.config
        if c.get("source") == "synthetic":
            return f"Synthetic {c['kind']}: {c['samples']:,} points, noise {c['noise']:g}"
        if c.get("source") == "sample":
            return f"Bundled sample: {c['name']}"
        from netstudio.core.data.common import resolve_path

        # the file really read: a relative path in a project resolves against the project's folder
        where = resolve_path(c["path"], self.base_dir).resolve() if c.get("path") else None
        return f"{c.get('source', '').upper() if c.get('source') != 'images' else 'Image folder'}: {where}"

    def _show_loaded(self, loaded: LoadedData) -> None:
        data = loaded.dataset
        self.source_label.setText(html.escape(self._describe_source()))
        classes = f", {len(data.classes)} classes" if data.classes else ""
        self.detected.setText(f"detected: {data.task}{classes}")
        self.preview.show_loaded(loaded)
        self._fill_roles(loaded)
        self._fill_target(loaded)
        self.series_box.show_config(self.config, loaded.columns)
        self.summary.setHtml(summary_html(data))
        if data.summary.text is not None:
            self.text_box.show_text(data.summary.text)
        else:
            self.text_box.hide()

    def _on_summary_link(self, url) -> None:
        if url.toString() == CLASS_WEIGHTS_LINK:
            self.class_weights_requested.emit()

    def _fill_roles(self, loaded: LoadedData) -> None:
        self._filling = True
        try:
            self.roles.setRowCount(len(loaded.columns))
            exclude = set(self.config.get("exclude") or [])
            text = (loaded.dataset.summary.text or {}).get("column")
            for row, name in enumerate(loaded.columns):
                self.roles.setItem(row, 0, _readonly_item(name))
                combo = QComboBox()
                for role in ROLES:
                    combo.addItem(role.capitalize(), role)
                role = "target" if name == loaded.target else ("exclude" if name in exclude else "feature")
                role = "text" if name == text else role
                combo.setCurrentIndex(ROLES.index(role))
                combo.currentIndexChanged.connect(lambda index, n=name, c=combo: self._on_role_changed(n, c.currentData()))
                self.roles.setCellWidget(row, 1, combo)
        finally:
            self._filling = False

    def _fill_target(self, loaded: LoadedData) -> None:
        """The target chooser: every column, the one used selected ("guessed" until the user picks)."""
        shown = bool(loaded.target) and self.config.get("source") == "csv"
        self.options_form.setRowVisible(self.target, shown)
        if not shown:
            return
        self._filling = True
        try:
            self.target.clear()
            guessed = not (self.config.get("target") or (self.config.get("sequence") or {}).get("target"))
            for name in loaded.columns:
                self.target.addItem(f"{name} (guessed)" if guessed and name == loaded.target else name, name)
            self.target.setCurrentIndex(max(0, self.target.findData(loaded.target)))
        finally:
            self._filling = False

    @Slot(int)
    def _on_target_chosen(self, _index: int) -> None:
        column = self.target.currentData()
        sequence = self.config.get("sequence")
        if sequence and not self._filling and column is not None and column != sequence.get("target"):
            self._apply(dict(self.config, sequence={**sequence, "target": column}))
            return
        if self._filling or column is None or column == self.config.get("target"):
            return
        exclude = [c for c in self.config.get("exclude") or [] if c != column]
        self._apply(dict(self.config, target=column, exclude=exclude))

    def _on_sequence_edited(self, sequence: dict | None) -> None:
        """The Time series group changed: data.sequence with the target shown, or none."""
        config = {k: v for k, v in self.config.items() if k != "sequence"}
        if sequence is not None:
            target = (self.config.get("sequence") or {}).get("target") or self.target.currentData() or \
                (self.loaded.target if self.loaded else None)
            config["sequence"] = {"target": target, **sequence} if target else sequence
        self._apply(config)

    def _on_role_changed(self, column: str, role: str) -> None:
        if self._filling:
            return
        config = copy.deepcopy(self.config)
        exclude = [c for c in config.get("exclude") or [] if c != column]
        if config.get("sequence") and role == "target":  # a series' target is its sequence's
            config["sequence"]["target"] = column
        if config.get("text") == column and role != "text":
            config["text"] = None
        if role == "text":  # the input becomes this column's token ids
            config["text"] = column
            if config.get("target") == column or (self.loaded and self.loaded.target == column):
                config["target"] = None
        elif role == "target":
            config["target"] = column
        elif role == "exclude":
            exclude.append(column)
            if config.get("target") == column or (self.loaded and self.loaded.target == column):
                config["target"] = None
        elif config.get("target") == column:
            config["target"] = None
        config["exclude"] = exclude
        self._apply(config)

    def _fill_options(self) -> None:
        self._filling = True
        try:
            c = {**data_defaults(self.config.get("source")), **self.config}
            select(self.task, c["task"])
            self.split.setValue(c["validation_split"])
            self.test_split.setValue(c["test_split"])
            self.seed.setValue(c["seed"])
            self.normalize.setChecked(c["normalize"])
            self.options.setEnabled(bool(self.config))
            self.series_box.show_config(self.config)
            augment = {**{k: v.default for k, v in settings(Augment).items()}, **(c.get("augment") or {})}
            self.hflip.setChecked(bool(augment["hflip"]))
            self.vflip.setChecked(bool(augment["vflip"]))
            self.rotate.setValue(augment["rotate"])
            self.shift.setValue(augment["shift"])
            self.brightness.setValue(augment["brightness"])
            self.contrast.setValue(augment["contrast"])
            if c.get("source") == "synthetic":  # the generator shows what was generated
                self.kind.setCurrentIndex(max(0, self.kind.findData(c.get("kind"))))
                self.samples.setValue(c["samples"])
                self.noise.setValue(c["noise"])
        finally:
            self._filling = False

    @Slot(object)
    def _on_tokenizer_edited(self, values: dict) -> None:
        """A new data.tokenizer: the tokenizer is fitted again, so the data reloads."""
        if not self.config or values == self.config.get("tokenizer"):
            return
        self._apply(dict(self.config, tokenizer=values))

    def _augment_values(self) -> dict:
        return {"hflip": self.hflip.isChecked(), "vflip": self.vflip.isChecked(), "rotate": self.rotate.value(),
                "shift": self.shift.value(), "brightness": self.brightness.value(),
                "contrast": self.contrast.value()}

    @Slot()
    def _on_augment_edited(self, *args) -> None:
        """A new data.augment: the project's data section changes, the dataset stays (no reload)."""
        if self._filling or not self.config:
            return
        config = dict(self.config, augment=self._augment_values())
        if config == self.config:
            return
        try:
            self.config = validate_data(config)
        except NetStudioError as exc:
            self._show_error(str(exc))
            return
        self.data_config_changed.emit(copy.deepcopy(self.config))
        self._show_augmented()

    def _show_augmented(self) -> None:
        """The Augmented tab: a few training images, each followed by augmented draws of it."""
        from netstudio.core.training.augment import is_active, preview

        data = self.dataset
        images = data is not None and len(data.input_shape) == 3
        self.augment_box.setVisible(images)
        self.tabs.setTabVisible(self.tabs.indexOf(self.augmented), images)
        self.augmented.clear()
        augment = self.config.get("augment")
        if not images or not data.n_train:
            return
        if not is_active(augment):
            self.augmented.addItem("Switch on an augmentation below to see what training batches get.")
            return
        originals, _ = preview(data, augment, count=AUGMENT_ROWS, seed=0)
        draws = [preview(data, augment, count=AUGMENT_ROWS, seed=0, draw=k)[1] for k in range(1, AUGMENT_DRAWS + 1)]
        for row in range(len(originals)):
            for column, pixels in enumerate([originals[row], *(d[row] for d in draws)]):
                item = QListWidgetItem(QIcon(QPixmap.fromImage(pixels_to_qimage(pixels).scaled(
                    AUGMENT_THUMBNAIL, AUGMENT_THUMBNAIL))), f"{row + 1}: original" if column == 0 else f"{row + 1}: draw {column}")
                self.augmented.addItem(item)

    @Slot()
    def _on_options_edited(self, *args) -> None:
        if self._filling or not self.config:
            return
        config = dict(self.config, task=self.task.currentData(), validation_split=self.split.value(),
                      test_split=self.test_split.value(), seed=self.seed.value(), normalize=self.normalize.isChecked())
        if config != self.config:
            self._apply(config)


def _readonly_item(text: str):
    from PySide6.QtWidgets import QTableWidgetItem

    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item
