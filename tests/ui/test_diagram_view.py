"""The Diagram view beside the stack (issue 21): drawn from the window's design and redrawn on
every edit; selecting a node selects the layer in the stack (the inspector follows) and the other
way round; a palette layer dropped on an edge is inserted there as one undo step; Delete removes
the selected node; Ctrl+0 fits; File › Export Diagram… writes SVG and PNG; the tab is remembered."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import PySide6
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QFileDialog

from netstudio.core.design.stack import LayerSpec
from netstudio.ui.designer.stack_model import LAYER_MIME
from netstudio.ui.window.main_window import MainWindow
from tests.core.test_diagram import MIXED, all_paths

DRAG_POINT = QPointF if PySide6.__version_info__ >= (6, 12) else QPoint


@pytest.fixture
def mixed(window):
    window.design.load([LayerSpec.from_config(c) for c in MIXED], (3, 8, 8))
    window.design_tabs.setCurrentWidget(window.diagram_view)
    return window


def palette_mime(*types) -> QMimeData:
    mime = QMimeData()
    mime.setData(LAYER_MIME, json.dumps([{"type": t, "params": {}} for t in types]).encode("utf-8"))
    return mime


def drop_at(view, scene_point, mime):
    """Drag *mime* over the view to *scene_point* and drop it, as a palette drag would."""
    at = view.mapFromScene(QPointF(*scene_point))
    viewport = view.viewport()
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(DRAG_POINT(at), Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(viewport, enter)
    move = QDragMoveEvent(DRAG_POINT(at), Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(viewport, move)
    accepted = move.isAccepted()
    drop = QDropEvent(QPointF(at), Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(viewport, drop)
    return accepted


def test_the_diagram_is_the_design_and_follows_its_edits(mixed):
    view = mixed.diagram_view
    assert sorted(view.diagram_scene.nodes) == sorted(all_paths(mixed.design.stack.layers))
    mixed.design.set_param_at((6,), "out_features", 5)  # the last Linear
    assert [e.label for e in view.diagram.edges if e.target == "output"] == ["5"]
    mixed.design.undo_stack.undo()
    assert [e.label for e in view.diagram.edges if e.target == "output"] == ["3"]


def test_selecting_a_node_selects_its_layer_and_back(mixed):
    view, editor = mixed.diagram_view, mixed.stack_editor
    view.diagram_scene.nodes[(4,)].setSelected(True)  # Flatten
    assert editor.selected_layers() == [4]
    assert mixed.inspector.layer_index == 4
    view.diagram_scene.clearSelection()
    view.diagram_scene.nodes[(2, 2, 1)].setSelected(True)  # inside the Parallel: its own row in the tree
    assert editor.selected_paths() == [(2, 2, 1)] and mixed.inspector.path == (2, 2, 1)
    assert view.selected_path() == (2, 2, 1)
    editor.select_paths([(5, 1, 0)])  # a row inside a block selects its node
    assert view.selected_path() == (5, 1, 0)
    editor.select_layers([6])
    assert view.selected_path() == (6,)
    editor.select_layers([1])
    assert view.selected_path() == (1,)


def test_a_drop_on_an_edge_inserts_there_in_one_undo_step(mixed):
    view = mixed.diagram_view
    before = [spec.get_config() for spec in mixed.design.stack]
    steps = mixed.design.undo_stack.count()
    edge = next(e for e in view.diagram.edges if e.insert_path == (2, 2, 1))  # between Conv2d and ReLU
    (ax, ay), (bx, by) = edge.points[-2], edge.points[-1]
    assert drop_at(view, ((ax + bx) / 2, (ay + by) / 2), palette_mime("BatchNorm2d"))
    assert mixed.design.stack.node((2, 2, 1)).type == "BatchNorm2d"
    assert mixed.design.stack.node((2, 2, 2)).type == "ReLU"
    assert mixed.design.undo_stack.count() == steps + 1
    assert view.selected_path() == (2, 2, 1) and mixed.stack_editor.selected_paths() == [(2, 2, 1)]
    assert (2, 2, 1) in view.diagram_scene.nodes  # redrawn with the new layer
    mixed.design.undo_stack.undo()
    assert [spec.get_config() for spec in mixed.design.stack] == before


def test_a_drop_on_a_frame_adds_inside_and_far_away_is_refused(mixed):
    view = mixed.diagram_view
    frame = view.diagram.node_for((1,))
    assert drop_at(view, (frame.x + 6, frame.y + frame.height - 6), palette_mime("Dropout"))
    assert [s.type for s in mixed.design.stack.node((1,)).children[0]] == ["Conv2d", "ReLU", "Dropout"]
    steps = mixed.design.undo_stack.count()
    assert not drop_at(view, (2, view.diagram.height - 2), palette_mime("Dropout"))
    assert mixed.design.undo_stack.count() == steps


def test_delete_removes_the_selected_node_through_undo(mixed):
    view = mixed.diagram_view
    view.diagram_scene.nodes[(1, 0, 1)].setSelected(True)  # the ReLU inside the Residual
    view.setFocus()
    mixed.window_actions.delete.trigger()
    assert [s.type for s in mixed.design.stack.node((1,)).children[0]] == ["Conv2d"]
    mixed.design.undo_stack.undo()
    assert [s.type for s in mixed.design.stack.node((1,)).children[0]] == ["Conv2d", "ReLU"]


def test_zoom_fit_and_keyboard(mixed, qtbot):
    view = mixed.diagram_view
    view.resize(400, 300)
    view.fit()
    assert view.zoom_factor() < 1  # the whole tall design fits
    assert view.mapFromScene(view.diagram_scene.sceneRect()).boundingRect().height() <= view.viewport().height() + 2
    view.zoom(2)
    assert view.zoom_factor() > 0.2
    view.diagram_scene.nodes[(0,)].setSelected(True)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.selected_path() == (1,)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.selected_path() == (1, 0, 0)


def test_a_locked_design_refuses_drops(mixed):
    mixed.set_editing_locked(True)
    steps = mixed.design.undo_stack.count()
    edge = next(e for e in mixed.diagram_view.diagram.edges if e.insert_path == (1,))
    assert not drop_at(mixed.diagram_view, edge.label_at, palette_mime("ReLU"))
    assert mixed.design.undo_stack.count() == steps
    mixed.set_editing_locked(False)


def test_export_diagram_writes_svg_and_png(mixed, tmp_path, monkeypatch):
    for name in ("net.svg", "net.png"):
        target = tmp_path / name
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, t=target, **k: (str(t), ""))
        mixed.window_actions.export_diagram.trigger()
        assert target.exists()
    root = ET.parse(tmp_path / "net.svg").getroot()
    assert len([g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") in ("layer", "block")]) \
        == len(all_paths(mixed.design.stack.layers))
    image = QImage(str(tmp_path / "net.png"))
    assert image.width() == round(2 * mixed.diagram_view.diagram.width)


def test_the_chosen_view_is_remembered(qtbot, settings):
    first = MainWindow(settings=settings)
    qtbot.addWidget(first, before_close_func=lambda w: w.design.mark_saved())
    assert first.design_tabs.currentWidget() is first.stack_editor
    first.design_tabs.setCurrentWidget(first.diagram_view)
    second = MainWindow(settings=settings)
    qtbot.addWidget(second, before_close_func=lambda w: w.design.mark_saved())
    assert second.design_tabs.currentWidget() is second.diagram_view


def test_an_error_node_offers_its_fix_as_one_undo_step(window):
    config = [{"type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3}},
              {"type": "Residual", "params": {}, "layers": [
                  {"type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3, "padding": 1}},
                  {"type": "Linear", "params": {"out_features": 4}}]},
              {"type": "Linear", "params": {"out_features": 3}}]
    window.design.load([LayerSpec.from_config(c) for c in config], (3, 8, 8))
    view = window.diagram_view
    inner = view.diagram.node_for((1, 0, 1))
    assert inner.status == "error" and inner.fix and inner.fix in inner.tooltip()
    menu = view.build_context_menu((1, 0, 1))
    assert [a.text() for a in menu.actions() if a.text()][0] == f"Fix: {inner.fix}"
    steps = window.design.undo_stack.count()
    menu.actions()[0].trigger()
    assert window.design.undo_stack.count() == steps + 1
    assert [s.type for s in window.design.stack.node((1,)).children[0]] == ["Conv2d", "Flatten", "Linear"]
    window.design.undo_stack.undo()
    assert [s.type for s in window.design.stack.node((1,)).children[0]] == ["Conv2d", "Linear"]
    assert view.fix_for((0,)) is None  # a node without an issue offers none


def test_left_and_right_go_between_branches_and_into_blocks(mixed, qtbot):
    view = mixed.diagram_view
    view.setFocus()

    def press(key, start=None):
        if start is not None:
            view.diagram_scene.clearSelection()
            view.diagram_scene.nodes[start].setSelected(True)
        qtbot.keyClick(view, key)
        return view.selected_path()

    right, left = Qt.Key.Key_Right, Qt.Key.Key_Left
    assert press(right, (2, 0, 0)) == (2, 2, 0)  # the next branch, past the empty one
    assert press(right) == (2, 2, 0)  # the last branch: nowhere further
    assert press(left, (2, 2, 1)) == (2, 0, 0)  # the same place, or the branch's last layer
    assert press(left) == (2,)  # out of the first branch to the Parallel's frame
    assert press(right) == (2, 0, 0)  # and into it again
    assert press(left, (1, 0, 1)) == (1,)  # out of a Residual
    assert press(right, (1, 0, 1)) == (1, 0, 1)  # no branches beside it
    assert press(right, (3,)) == (3, 0, 0)  # into a Repeat, and into the Residual it repeats
    assert press(right) == (3, 0, 0, 0, 0)
    assert press(left, (0,)) == (0,) and press(right) == (0,)  # a top-level layer: nothing beside
    assert mixed.stack_editor.selected_paths() == [(0,)]


def test_enter_opens_the_inspector_on_the_node(mixed, qtbot):
    view = mixed.diagram_view
    view.diagram_scene.nodes[(5, 1, 0)].setSelected(True)  # the second branch's Linear
    mixed.inspector_dock.hide()  # closed by the user
    assert not mixed.inspector.isVisible()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert mixed.inspector.isVisible() and mixed.inspector.path == (5, 1, 0)
    assert mixed.stack_editor.selected_paths() == [(5, 1, 0)]


def edge_middle(view, insert_path):
    edge = next(e for e in view.diagram.edges if e.insert_path == insert_path and e.kind == "flow")
    (ax, ay), (bx, by) = edge.points[-2], edge.points[-1]
    return (ax + bx) / 2, (ay + by) / 2


def test_dragging_a_node_onto_an_edge_moves_it_in_one_undo_step(mixed):
    view = mixed.diagram_view
    before = [spec.get_config() for spec in mixed.design.stack]
    steps = mixed.design.undo_stack.count()
    # the ReLU inside the Residual, dropped before the last Linear
    assert drop_at(view, edge_middle(view, (6,)), view.node_mime([(1, 0, 1)]))
    assert [s.type for s in mixed.design.stack.node((1,)).children[0]] == ["Conv2d"]
    assert [s.type for s in mixed.design.stack][5:] == ["Parallel", "ReLU", "Linear"]
    assert mixed.design.undo_stack.count() == steps + 1
    assert view.selected_path() == (6,) and mixed.stack_editor.selected_paths() == [(6,)]
    mixed.design.undo_stack.undo()
    assert [spec.get_config() for spec in mixed.design.stack] == before
    # a top-level layer into a Parallel's branch
    assert drop_at(view, edge_middle(view, (2, 2, 1)), view.node_mime([(4,)]))
    assert [s.type for s in mixed.design.stack.node((2,)).children[2]] == ["Conv2d", "Flatten", "ReLU"]
    mixed.design.undo_stack.undo()
    assert [spec.get_config() for spec in mixed.design.stack] == before


def test_a_node_dropped_on_itself_or_inside_itself_is_refused(mixed):
    view = mixed.diagram_view
    steps = mixed.design.undo_stack.count()
    assert not drop_at(view, edge_middle(view, (1, 0, 1)), view.node_mime([(1,)]))  # the Residual into itself
    assert not drop_at(view, edge_middle(view, (5,)), view.node_mime([(4,)]))  # the edge just after Flatten
    assert not drop_at(view, edge_middle(view, (4,)), view.node_mime([(4,)]))  # and just before it
    frame = view.diagram.node_for((3,))
    assert not drop_at(view, (frame.x + 6, frame.y + frame.height - 6), view.node_mime([(3,)]))  # its own frame
    assert mixed.design.undo_stack.count() == steps
    other = palette_mime("ReLU")  # a drag from another view's nodes carries another id: not taken
    other.setData("application/x-netstudio-diagram-nodes", b'{"view": 1, "paths": [[4]]}')
    other.removeFormat(LAYER_MIME)
    assert not drop_at(view, edge_middle(view, (6,)), other)
    mixed.set_editing_locked(True)
    assert not drop_at(view, edge_middle(view, (6,)), view.node_mime([(4,)]))
    mixed.set_editing_locked(False)
    assert mixed.design.undo_stack.count() == steps


def test_the_window_shows_one_tab_bar_per_dock_group(window, qtbot):
    from PySide6.QtWidgets import QTabBar

    def shown():
        bars = [b for b in window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly)
                if b.isVisible()]
        return sorted(tuple(b.tabText(i) for i in range(b.count())) for b in bars)

    groups = shown()
    assert len(groups) == len(set(groups)) == 3  # palette|data, inspector|training, the plots
    window.resize(window.width() + 40, window.height() + 30)  # a new layout keeps them that way
    qtbot.waitUntil(lambda: shown() == groups)
