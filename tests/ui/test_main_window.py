"""The main window: files, title, close prompt, settings, templates, menus and dialogs."""

import json

import PySide6
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QPalette
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog, QMessageBox, QWidget

from netstudio.core.design.layers import layer_names
from netstudio.core.design.stack import LayerSpec
from netstudio.core.design.templates import get_template
from netstudio.core.project import CURRENT_VERSION, load_project, project_from_template
from netstudio.ui.window.dialogs import InputShapeDialog, LayerReferenceDialog, ShortcutsDialog
from netstudio.ui.window.main_window import MainWindow

Button = QMessageBox.StandardButton


def make_window(qtbot, settings, project=None):
    window = MainWindow(project, settings=settings)
    qtbot.addWidget(window, before_close_func=lambda w: w.design.mark_saved())
    window.show()
    return window


def answer_save_dialog(monkeypatch, path):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), "NetStudio projects (*.nsproj)"))


def test_the_panels_have_their_object_names(window):
    for name in ("layerPalette", "layerStack", "inspector"):
        assert window.findChild(QWidget, name) is not None, name
    assert {d.objectName() for d in window.findChildren(QDockWidget)} >= {"layerPaletteDock", "inspectorDock"}
    assert window.windowTitle() == "untitled — NetStudio"
    assert window.status.validity.label.text() == "No layers yet"  # an empty design is not shouted at
    assert window.stack_editor.issue_bar.isHidden()


def test_title_marks_unsaved_changes(window):
    window.add_layer("Linear")
    assert window.windowTitle() == "untitled* — NetStudio"
    window.design.undo_stack.undo()
    assert window.windowTitle() == "untitled — NetStudio"


def test_palette_activation_appends_and_selects(window):
    window.layer_palette.layer_activated.emit("Linear")
    window.layer_palette.layer_activated.emit("ReLU")
    assert [s.type for s in window.design.stack] == ["Linear", "ReLU"]
    assert window.stack_editor.selected_layers() == [1]
    assert window.inspector.layer_index == 1


def test_delete_duplicate_and_move_through_the_actions(window, qtbot):
    for name in ("Linear", "ReLU", "Dropout"):
        window.add_layer(name)
    actions = window.window_actions
    window.stack_editor.select_layers([1])
    qtbot.keyClick(window.stack_editor.view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert [s.type for s in window.design.stack] == ["Linear", "ReLU", "ReLU", "Dropout"]
    assert window.stack_editor.selected_layers() == [2]
    actions.move_up.trigger()
    actions.move_up.trigger()
    actions.move_up.trigger()  # already at the top: nothing happens
    assert window.stack_editor.selected_layers() == [0]
    assert not actions.move_up.isEnabled()
    assert [s.type for s in window.design.stack] == ["ReLU", "Linear", "ReLU", "Dropout"]
    window.stack_editor.select_layers([0, 3])
    qtbot.keyClick(window.stack_editor.view, Qt.Key.Key_Delete)
    assert [s.type for s in window.design.stack] == ["Linear", "ReLU"]
    actions.undo.trigger()
    assert [s.type for s in window.design.stack] == ["ReLU", "Linear", "ReLU", "Dropout"]
    window.stack_editor.view.clearSelection()
    assert not actions.delete.isEnabled() and not actions.duplicate.isEnabled()


def test_save_then_open_round_trip(window, qtbot, settings, tmp_path, monkeypatch):
    window.new_from_template("lenet-cnn")
    window.design.set_param(0, "out_channels", 8)
    window.design.set_input_shape((1, 32, 32), undoable=True)
    path = tmp_path / "digits.nsproj"
    answer_save_dialog(monkeypatch, path)
    assert window.window_actions.save.trigger() is None and path.exists()
    assert not window.design.modified and window.windowTitle() == "digits — NetStudio"
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["model"]["input_shape"] == [1, 32, 32] and saved["name"] == "digits"
    assert settings.recent_files() == [str(path)] and settings.last_folder == str(tmp_path)

    other = make_window(qtbot, settings)
    assert other.open_project(path)
    assert other.design.stack.to_config() == window.design.stack.to_config()
    assert other.design.input_shape == (1, 32, 32)
    assert other.project.training["batch_size"] == 64
    assert other.windowTitle() == "digits — NetStudio" and not other.design.modified
    assert other.stack_model.index(1, 2).data() == "[8, 32, 32]"


def test_save_failure_is_reported_and_keeps_the_changes(window, tmp_path, monkeypatch):
    window.add_layer("Linear")
    errors = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: errors.append(text))
    answer_save_dialog(monkeypatch, tmp_path / "missing-folder" / "x.nsproj")
    assert not window.save()
    assert errors and "x.nsproj" in errors[0]
    assert window.design.modified and window.project.name == "untitled"


@pytest.mark.parametrize("how", ["save as", "save in place"])
@pytest.mark.parametrize("answer", [Button.No, Button.Yes])
def test_a_project_written_by_a_newer_version_is_never_overwritten_without_asking(window, tmp_path, monkeypatch,
                                                                                  how, answer):
    path = tmp_path / "future.nsproj"
    if how == "save in place":  # opened here, then a newer NetStudio saved over it meanwhile
        window.new_from_template("first-network")
        answer_save_dialog(monkeypatch, path)
        assert window.save()
    newer = {"format": "netstudio-project", "version": 7, "name": "future", "model": {"layers": []},
             "kept by version 7": {"graph": [1, 2]}}
    path.write_text(json.dumps(newer), encoding="utf-8")
    before = path.read_bytes()
    window.add_layer("Dropout")
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a: asked.append((title, text)) or answer)
    answer_save_dialog(monkeypatch, path)
    saved = window.save_as() if how == "save as" else window.save()
    assert len(asked) == 1 and asked[0][0] == "Overwrite Newer Project?"
    assert "future.nsproj was written by a newer NetStudio (project version 7" in asked[0][1]
    if answer == Button.No:
        assert not saved and path.read_bytes() == before and window.design.modified
    else:
        assert saved and not window.design.modified
        assert json.loads(path.read_text(encoding="utf-8"))["version"] == CURRENT_VERSION
        assert load_project(path).stack.to_config() == window.design.stack.to_config()


def test_a_malformed_project_is_refused_and_the_design_kept(window, tmp_path, monkeypatch):
    window.new_from_template("first-network")
    before = window.design.stack.to_config()
    bad = tmp_path / "bad.nsproj"
    bad.write_text('{"format": "netstudio-project", "version": 1, "model": {"layers": [{"type": "Linear", '
                   '"params": {"out_features": -3}}]}}', encoding="utf-8")
    errors = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: errors.append((title, text)))
    assert not window.open_project(bad)
    assert errors == [("Cannot Open Project",
                       f"{bad}: model.layers[0].params.out_features: must be ≥ 1")]
    assert "\n" not in errors[0][1]
    assert window.design.stack.to_config() == before and window.project.name == "first-network"
    (tmp_path / "junk.nsproj").write_bytes(b"\x00\xff garbage")
    assert not window.open_project(tmp_path / "junk.nsproj") and len(errors) == 2


def test_opening_from_the_menu_uses_the_last_folder(window, tmp_path, monkeypatch, settings):
    path = project_from_template(get_template("small-rnn")).save(tmp_path / "rnn.nsproj")
    settings.last_folder = str(tmp_path)
    asked = []

    def fake_open(parent, caption, folder, filters):
        asked.append(folder)
        return str(path), filters

    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake_open)
    window.window_actions.open.trigger()
    assert asked == [str(tmp_path)]
    assert [s.type for s in window.design.stack] == ["LSTM", "Dropout", "Linear"]
    assert window.design.input_shape == (30, 4)


def test_a_project_without_input_shape_gets_a_suggestion(window, tmp_path):
    project = project_from_template(get_template("lenet-cnn"))
    project.model_extra.clear()  # as written by hand, or by a NetStudio without the designer
    assert window.open_project(project.save(tmp_path / "cnn.nsproj"))
    assert window.design.input_shape == (1, 28, 28) and window.design.validation.valid
    assert "assumed" in window.statusBar().currentMessage()


#: Qt 6.12 adds a QPointF drag-enter constructor and deprecates the QPoint one; older ones lack it.
#: Chosen by version, not by trying: a failed overload call can leave its QMimeData argument dead.
DRAG_POINT = QPointF if PySide6.__version_info__ >= (6, 12) else QPoint


def drag_enter(mime: QMimeData) -> QDragEnterEvent:
    """A synthetic drag-enter event at (20, 20)."""
    return QDragEnterEvent(DRAG_POINT(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                           Qt.KeyboardModifier.NoModifier)


def drop(mime: QMimeData) -> QDropEvent:
    return QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)


def file_mime(path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    return mime


def test_dropping_a_project_file_on_the_window_opens_it(window, tmp_path):
    path = project_from_template(get_template("mlp-classifier")).save(tmp_path / "mlp.nsproj")
    mime = file_mime(path)  # an event does not own its mime data: keep it alive
    enter = drag_enter(mime)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, drop(mime))
    assert window.project.path == path and len(window.design.stack) == 6
    text = QMimeData()
    text.setText("not a project")
    refused = drag_enter(text)
    QApplication.sendEvent(window, refused)
    assert not refused.isAccepted()


def test_dropping_a_data_file_on_the_window_loads_it(qtbot, window, tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("x,y,label\n" + "".join(f"{i},{i % 7},{'ab'[i % 2]}\n" for i in range(40)))
    mime = file_mime(path)
    enter = drag_enter(mime)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    with qtbot.waitSignal(window.workflow.data_panel.dataset_loaded, timeout=30000) as blocker:
        QApplication.sendEvent(window, drop(mime))
    assert blocker.args[0].input_shape == (2,) and window.project.data["path"] == str(path)


@pytest.mark.parametrize("answer, closes, saved", [(Button.Cancel, False, False), (Button.Discard, True, False),
                                                   (Button.Save, True, True)])
def test_closing_with_unsaved_changes_asks(qtbot, settings, tmp_path, monkeypatch, answer, closes, saved):
    window = make_window(qtbot, settings)
    window.add_layer("Linear")
    asked = []

    def fake_question(parent, title, text, buttons, default):
        asked.append(text)
        assert buttons == Button.Save | Button.Discard | Button.Cancel
        return answer

    monkeypatch.setattr(QMessageBox, "question", fake_question)
    answer_save_dialog(monkeypatch, tmp_path / "kept.nsproj")
    assert window.close() is closes
    assert len(asked) == 1 and "untitled" in asked[0]
    assert window.isVisible() is not closes
    assert (tmp_path / "kept.nsproj").exists() is saved
    if saved:
        assert [s.type for s in load_project(tmp_path / "kept.nsproj").stack] == ["Linear"]
    window.design.mark_saved()


def test_closing_without_changes_does_not_ask(window, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a: pytest.fail("should not ask"))
    assert window.close()


def test_new_and_templates_ask_before_dropping_changes(window, monkeypatch):
    window.add_layer("Linear")
    monkeypatch.setattr(QMessageBox, "question", lambda *a: Button.Cancel)
    window.findChild(type(window.window_actions.new), "template_lenet-cnn").trigger()
    assert [s.type for s in window.design.stack] == ["Linear"]
    monkeypatch.setattr(QMessageBox, "question", lambda *a: Button.Discard)
    window.findChild(type(window.window_actions.new), "template_lenet-cnn").trigger()
    assert len(window.design.stack) == 12 and window.design.input_shape == (1, 28, 28)
    assert window.design.validation.valid and not window.design.modified
    assert window.windowTitle() == "lenet-cnn — NetStudio" and not window.undo_stack.canUndo()
    window.design.remove_layers([0])
    window.window_actions.new.trigger()
    assert len(window.design.stack) == 0 and window.project.name == "untitled"


def test_layout_and_settings_are_remembered(qtbot, settings):
    window = make_window(qtbot, settings)
    window.resize(700, 500)  # the offscreen screen is 800 × 600
    window.inspector_dock.hide()
    assert window.close()
    assert settings.window_geometry() is not None and settings.window_state() is not None
    again = make_window(qtbot, settings)
    assert again.size().width() == 700 and again.size().height() == 500
    assert again.inspector_dock.isHidden()
    again.reset_layout()
    assert not again.inspector_dock.isHidden()


def test_a_panel_added_later_gets_its_remembered_place(qtbot, settings):
    from PySide6.QtWidgets import QLabel

    window = make_window(qtbot, settings)
    dock = window.add_panel(QLabel("data"), "Data", Qt.DockWidgetArea.BottomDockWidgetArea, "dataPanelDock")
    assert dock.toggleViewAction() in window.menus["view"].actions()
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    assert window.close()
    again = make_window(qtbot, settings)
    later = again.add_panel(QLabel("data"), "Data", Qt.DockWidgetArea.BottomDockWidgetArea, "dataPanelDock")
    assert again.dockWidgetArea(later) == Qt.DockWidgetArea.LeftDockWidgetArea


def test_recent_files_menu(window, settings, tmp_path, monkeypatch):
    paths = [project_from_template(get_template(k)).save(tmp_path / f"{k}.nsproj") for k in ("first-network", "small-rnn")]
    for p in paths:
        settings.add_recent(p)
    settings.add_recent(paths[0])  # opened again: moves to the top, no duplicate
    menu = window.menus["recent"]
    window.fill_recent_menu(menu)
    labels = [a.text() for a in menu.actions() if a.text()]
    assert labels == ["&1 first-network.nsproj", "&2 small-rnn.nsproj", "Clear Recent"]
    menu.actions()[1].trigger()
    assert window.project.path == paths[1]
    paths[0].unlink()
    # a vanished file is dropped from the list when chosen
    errors = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a: errors.append(a[2]))
    window.open_recent(str(paths[0]))
    assert errors and str(paths[0]) not in settings.recent_files()


def test_theme_switch_is_remembered_and_recolours(window, settings, qtbot):
    window.design.insert_layers(0, [LayerSpec.create("Conv2d")])  # an error: the issue bar shows
    bar = window.stack_editor.issue_bar
    try:
        window.set_theme("dark")
        assert QApplication.palette().color(QPalette.ColorRole.Base).lightness() < 64
        assert settings.theme == "dark" and window.window_actions.themes["dark"].isChecked()
        qtbot.waitUntil(lambda: bar.palette().color(QPalette.ColorRole.Window).lightness() < 100)
        window.set_theme("light")
        assert QApplication.palette().color(QPalette.ColorRole.Base).lightness() > 200
        qtbot.waitUntil(lambda: bar.palette().color(QPalette.ColorRole.Window).lightness() > 200)
    finally:
        window.set_theme("system")


def test_set_input_shape_from_the_data(window):
    window.new_from_template("mlp-classifier")
    assert window.stack_model.index(6, 1).data() == "1 unit (auto)"
    window.set_input_shape((30,), output_width=3)
    assert window.design.validation.output_shape == (3,)
    assert window.stack_model.index(6, 1).data() == "3 units (auto)"
    assert window.stack_model.index(0, 2).data() == "[30]"
    assert not window.undo_stack.canUndo()  # the data's shape is not a user edit


def test_input_shape_dialog_checks_as_you_type(qtbot):
    dialog = InputShapeDialog((10,))
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    dialog.edit.setText("3, 32, 32")
    assert ok.isEnabled() and dialog.shape() == (3, 32, 32) and "channels × height × width" in dialog.hint.text()
    dialog.edit.setText("3, -1")
    assert not ok.isEnabled() and dialog.shape() is None


def test_status_bar_shows_parameters_and_validity(window):
    window.new_from_template("first-network")
    assert window.status.parameters.label.text() == "61 parameters"  # 10×5+5 + 5×1+1
    assert window.status.validity.label.text() == "Valid"
    window.design.insert_layers(0, [LayerSpec.create("Conv2d")])
    assert window.status.validity.label.text() == "1 error"
    assert window.status.parameters.label.text() == "0+ parameters"


def test_layer_reference_and_shortcuts_dialogs(window, qtbot):
    reference = LayerReferenceDialog(window, "GroupNorm")
    qtbot.addWidget(reference)
    count = reference.list.count()
    assert count == len(layer_names()) >= 55
    assert "num_groups" in reference.text.toPlainText() and "torch.nn.GroupNorm" in reference.text.toPlainText()
    reference.search.setText("recurrent")
    assert [reference.list.item(r).text() for r in range(count) if not reference.list.item(r).isHidden()] == [
        "LSTM", "GRU", "RNN"]
    reference.show_layer("SequencePool")  # NetStudio's own layers say so, with their one-line doc
    assert "NetStudio layer" in reference.text.toPlainText() and "[T, E] → [E]" in reference.text.toPlainText()
    shortcuts = ShortcutsDialog(window.window_actions.all(), window)
    qtbot.addWidget(shortcuts)
    rows = {shortcuts.table.item(r, 0).text(): shortcuts.table.item(r, 1).text() for r in range(shortcuts.table.rowCount())}
    assert rows["Duplicate Layer"] == "Ctrl+D" and rows["Save"] == "Ctrl+S"
    assert rows["Diagram: open the inspector on the selected node"] == "Enter"


def test_export_summary(window, tmp_path, monkeypatch):
    window.new_from_template("first-network")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "s.txt"), "Text (*.txt)"))
    window.window_actions.export_summary.trigger()
    text = (tmp_path / "s.txt").read_text(encoding="utf-8")
    assert "Total parameters: 61" in text and "Linear" in text
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "s.json"), "JSON (*.json)"))
    window.window_actions.export_summary.trigger()
    assert json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))["total_parameters"] == 61


def test_context_menu_offers_the_fix_and_inserts_layers(window):
    window.new_from_template("lenet-cnn")
    window.design.remove_layers([6])  # no Flatten: the Linear after the pooling cannot take [16, 5, 5]
    before = window.design.stack.to_config()
    model = window.stack_model
    menu = window.stack_editor.build_context_menu(model.index(7, 0))
    texts = [a.text().replace("&", "") for a in menu.actions() if a.text()]
    assert texts[0] == "Fix: Insert Flatten"
    assert "Insert Layer Below" in texts and "Duplicate Layer" in texts and "About Linear…" in texts
    menu.actions()[0].trigger()
    assert window.design.stack[6].type == "Flatten" and window.design.validation.valid
    window.undo_stack.undo()
    assert window.design.stack.to_config() == before
    insert = next(a for a in menu.actions() if a.text() == "Insert Layer Below").menu()
    activation = next(a for a in insert.actions() if a.text() == "Activation").menu()
    next(a for a in activation.actions() if a.text() == "Tanh").trigger()
    assert window.design.stack[7].type == "Tanh"  # below row 7, the Linear at index 6
    empty = window.stack_editor.build_context_menu(model.index(-1, -1))
    assert any(a.text() == "Add Layer" for a in empty.actions())
    assert not any(a.text().startswith("Fix") for a in empty.actions())


def test_double_clicking_the_input_row_asks_for_the_shape(window, monkeypatch):
    def answer(dialog):
        dialog.edit.setText("1, 12, 12")
        return InputShapeDialog.DialogCode.Accepted

    monkeypatch.setattr(InputShapeDialog, "exec", answer)
    editor = window.stack_editor
    editor.view.doubleClicked.emit(window.stack_model.index(0, 0))
    assert window.design.input_shape == (1, 12, 12) and window.undo_stack.canUndo()
    window.undo_stack.undo()
    assert window.design.input_shape == (10,)
    window.add_layer("Linear")
    window.inspector_dock.hide()
    opened = []
    editor.layer_opened.connect(opened.append)
    editor.view.doubleClicked.emit(window.stack_model.index(1, 0))
    assert opened == [0] and not window.inspector_dock.isHidden()


def test_help_menu_opens_its_dialogs(window, monkeypatch):
    shown = []
    monkeypatch.setattr(LayerReferenceDialog, "exec", lambda d: shown.append(d.list.currentItem().text()))
    monkeypatch.setattr(ShortcutsDialog, "exec", lambda d: shown.append(d.windowTitle()))
    monkeypatch.setattr(QMessageBox, "exec", lambda d: shown.append(d.windowTitle()))
    window.window_actions.reference.trigger()
    window.stack_editor.reference_requested.emit("LSTM")
    window.window_actions.shortcuts.trigger()
    window.window_actions.about.trigger()
    assert shown == ["Linear", "LSTM", "Keyboard Shortcuts", "About NetStudio"]


def test_dialogs_opened_from_the_menus_do_not_pile_up(window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QDialog

    monkeypatch.setattr(QDialog, "exec", lambda dialog, *a: QDialog.DialogCode.Rejected)
    for _ in range(3):
        window.show_reference("Linear")
        window.show_shortcuts()
        window.edit_input_shape()
    qtbot.waitUntil(lambda: not window.findChildren(QDialog), timeout=2000)  # deleted once the loop ran
    assert window.design.input_shape == (10,)  # a rejected shape dialog changes nothing
