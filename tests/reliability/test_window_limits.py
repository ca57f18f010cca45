"""The window under designs and data that made it crash, freeze or change a running design.

The review's cases: a design whose shape text is enormous (SIGSEGV in Qt's raster engine on an
8-million-pixel size hint), a project whose ``exclude`` lists a million names (the GUI thread
frozen for minutes on one warning per name), a CSV thousands of columns wide (frozen in
``resizeColumnsToContents``), and a sample loaded while a run trained (the locked design's input
shape changed mid-run).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.reliability.conftest import tally

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def count():
    tally("inputs")


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from netstudio.ui.settings import Settings
    from netstudio.ui.window.main_window import MainWindow

    monkeypatch.setattr("PySide6.QtWidgets.QMessageBox.exec", lambda *a: pytest.fail("a message box"))
    window = MainWindow(settings=Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)))
    qtbot.addWidget(window, before_close_func=lambda w: w.design.mark_saved())
    window.show()
    return window


def test_no_other_data_is_loaded_while_a_run_trains(qtbot, window, tmp_path):
    """Data > Samples stayed live during a run: the shapes sample replaced iris under it."""
    for name in ("iris.nsproj", "iris.csv"):
        shutil.copy(REPO / "samples" / name, tmp_path / name)
    workflow = window.workflow
    with qtbot.waitSignal(workflow.data_panel.dataset_loaded, timeout=60000):
        assert window.open_project(tmp_path / "iris.nsproj")
    data = dict(window.project.data)
    workflow.training_panel.epochs.setValue(100000)
    with qtbot.waitSignal(workflow.controller.progressed, timeout=60000):
        qtbot.mouseClick(workflow.training_panel.train_button, Qt.MouseButton.LeftButton)
    try:
        workflow._fill_samples()
        shapes = [a for a in workflow.samples_menu.actions() if a.text() == "shapes"]
        assert shapes, [a.text() for a in workflow.samples_menu.actions()]
        shapes[0].trigger()  # what the menu does when it is clicked
        workflow.data_panel.reload()
        workflow.data_panel.use_synthetic("moons", 100, 0.1)
        assert not workflow.data_panel.is_loading
        assert window.project.data == data and window.design.input_shape == (4,)
        assert "Training is running" in window.statusBar().currentMessage()
    finally:
        with qtbot.waitSignal(workflow.controller.idle, timeout=60000):
            workflow.controller.stop()
    assert workflow.data_panel.isEnabled() and not workflow.data_panel.locked


def test_a_million_missing_exclude_names_make_one_short_warning(tmp_path):
    """One warning per name (and an HTML item each) froze the window for minutes."""
    from netstudio.core.data.preview import load_for_panel
    from netstudio.core.project import validate_data
    from netstudio.ui.data.preview import summary_html
    from tests.reliability.catalogue import TABLE

    (tmp_path / "t.csv").write_text(TABLE, encoding="utf-8")
    names = [f"gone_{i}" for i in range(1_000_000)]
    config = validate_data({"source": "csv", "path": "t.csv", "target": "label", "exclude": names})
    loaded = load_for_panel(config, tmp_path)
    warnings = [w for w in loaded.dataset.summary.warnings if "data.exclude" in w]
    assert len(warnings) == 1 and "1,000,000 names are not columns" in warnings[0], warnings[:3]
    assert len(summary_html(loaded.dataset)) < 20_000


def test_the_summary_shows_a_bounded_number_of_bounded_lines():
    from types import SimpleNamespace

    from netstudio.ui.data.preview import SUMMARY_LINE_CHARS, SUMMARY_LINES, summary_html

    summary = SimpleNamespace(rows=1, features=1, class_counts={}, missing_values=0, dropped_rows=0,
                              warnings=["the same warning"] * 5000 + [f"warning {i}" for i in range(5000)],
                              notes=["x" * 1_000_000])
    text = summary_html(SimpleNamespace(summary=summary, n_train=1, n_val=0, n_test=0, input_shape=(1,),
                                        task="binary"))
    assert "the same warning (×5,000)" in text and "more" in text
    # the collapsed repeat and 29 others, "... and 4,971 more", the one note
    assert text.count("<li") == SUMMARY_LINES + 2 and len(text) < 2 * SUMMARY_LINES * SUMMARY_LINE_CHARS


def test_a_wide_preview_sizes_its_columns_from_a_sample(qtbot):
    """resizeColumnsToContents on 6,832 columns held the GUI thread for 23 s."""
    from types import SimpleNamespace

    import numpy as np
    import pandas as pd

    from netstudio.ui.data.preview import SIZED_COLUMNS, DataPreview

    preview = DataPreview()
    qtbot.addWidget(preview)
    columns = [f"c{'x' * (i % 37)}{i}" for i in range(6832)]
    frame = pd.DataFrame(np.zeros((20, len(columns))), columns=columns)
    preview.show_loaded(SimpleNamespace(preview=frame, target=None, points=None, images=None))
    header = preview.table.horizontalHeader()
    sized = {header.sectionSize(c) for c in range(SIZED_COLUMNS)}
    rest = {header.sectionSize(c) for c in range(SIZED_COLUMNS, len(columns))}
    assert len(sized) > 1, "the first columns fit their contents"
    assert rest == {header.defaultSectionSize()}, sorted(rest)[:5]


def test_enormous_texts_of_a_design_are_shown_bounded(qtbot):
    """A setting of 100,000 characters asked for a 709,415-px column (a million Unflatten sizes,
    now refused by validation, asked for 8,388,610 px and crashed Qt's raster engine)."""
    from netstudio.core.design.stack import LayerSpec, LayerStack
    from netstudio.core.strings import SHOWN_CHARS, TOOLTIP_CHARS, TOOLTIP_LINES
    from netstudio.ui.designer.design import Design
    from netstudio.ui.designer.stack_editor import StackEditor

    spec = LayerSpec.create("Linear", out_features=8)
    spec.params["out_features"] = "<b>" + "x" * 100_000
    editor = StackEditor(Design(LayerStack([spec, LayerSpec.create("ReLU")]), (4,)))
    qtbot.addWidget(editor)
    editor.resize(900, 600)
    editor.show()
    editor.view.setCurrentIndex(editor.model.index(1, 0))
    model = editor.model
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            shown = str(model.index(row, column).data() or "")
            tip = str(model.index(row, column).data(Qt.ItemDataRole.ToolTipRole) or "")
            assert len(shown) <= SHOWN_CHARS, (row, column, len(shown))
            assert len(tip) <= (TOOLTIP_LINES + 1) * (TOOLTIP_CHARS + 1), (row, column, len(tip))
    assert max(editor.view.sizeHintForColumn(c) for c in range(model.columnCount())) < 4000
    assert editor.issue_bar.isVisible() and len(editor.issue_text.text()) < 600
    editor.grab()  # paints it all


def test_every_text_of_the_window_is_bounded_whatever_its_length(qtbot, window):
    """Beyond the stack: the inspector's issue (a rich-text label with the setting's value in it),
    the status bar's message and validity, the Training panel's failure and its log line. A word
    of 100,000 characters in a word-wrapped label asked for its whole width."""
    from PySide6.QtWidgets import QWidget

    from netstudio.core.design.stack import LayerSpec
    from netstudio.core.strings import SHOWN_CHARS, TOOLTIP_CHARS, TOOLTIP_LINES

    window.resize(1280, 800)
    spec = LayerSpec.create("Linear", out_features=8)
    spec.params["out_features"] = "<b>" + "x" * 100_000
    window.design.load([spec, LayerSpec.create("ReLU")], (4,), 32)
    editor = window.stack_editor
    editor.view.setCurrentIndex(editor.model.index(1, 0))
    window.inspector_dock.raise_()
    huge = "/very/long/" + "y" * 100_000
    window.statusBar().showMessage(f"Opened {huge}")
    panel = window.workflow.training_panel
    panel.run_failed(f"cannot read {huge}")
    window.workflow.training_dock.raise_()
    qtbot.waitUntil(lambda: window.inspector.issues_layout.count() > 0)
    assert len(window.statusBar().currentMessage()) <= 2 * SHOWN_CHARS
    assert len(panel.log.toPlainText()) < 2000 and len(panel.status.text()) < 1000
    assert panel.status.toolTip().startswith("Training failed: cannot read /very/long/")
    bounded_tip = (TOOLTIP_LINES + 1) * (TOOLTIP_CHARS + 1)
    for widget in window.findChildren(QWidget):
        if widget.isVisible():
            width = max(widget.sizeHint().width(), widget.minimumSizeHint().width())
            assert width < 4000, (type(widget).__name__, widget.objectName(), width)
        assert len(widget.toolTip()) <= bounded_tip, (type(widget).__name__, len(widget.toolTip()))
        text = getattr(widget, "text", None)
        if callable(text) and isinstance(text(), str):
            assert len(text()) < 2000, (type(widget).__name__, widget.objectName(), len(text()))
    window.grab()  # paints it all
