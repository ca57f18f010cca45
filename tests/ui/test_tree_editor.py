"""The tree editor in the window (issue 19): wrap and unwrap, add and remove a branch, each one
undo step; Delete, Enter and Alt+Up/Down on rows inside blocks; blocks in the palette; the
inspector editing a block's settings inside another block."""

from PySide6.QtCore import QModelIndex, Qt

from netstudio.core.design.stack import LayerStack
from netstudio.ui.designer.palette import LayerPalette
from netstudio.ui.designer.stack_model import BRANCH_ROLE
from tests.ui.test_tree_model import tree_design


def open_tree(window):
    design = tree_design()
    window.design.load(design.stack.layers, design.input_shape)
    return window.design, window.stack_editor, window.window_actions


def types(layers):
    return [s.type for s in layers]


def test_wrap_in_residual_parallel_repeat_and_unwrap_are_one_undo_step_each(window):
    design, editor, actions = open_tree(window)
    before = design.stack.to_config()
    editor.select_paths([(3,), (4,)])  # Flatten, Linear
    assert actions.wrap_residual.isEnabled() and not actions.unwrap.isEnabled()
    actions.wrap_repeat.trigger()
    assert types(design.stack) == ["Conv2d", "Residual", "Parallel", "Repeat"]
    assert types(design.stack[3].children[0]) == ["Flatten", "Linear"]
    assert editor.selected_paths() == [(3,)] and editor.view.isExpanded(editor.model.index(4, 0))
    assert design.undo_stack.count() == 1 and actions.unwrap.isEnabled()
    editor.select_paths([(1, 0, 0)])  # the Conv2d inside the Residual: wrap it in a Parallel
    actions.wrap_parallel.trigger()
    inner = design.stack.node((1, 0, 0))
    assert inner.type == "Parallel" and types(inner.children[0]) == ["Conv2d"] and inner.children[1] == []
    assert editor.current_path() == (1, 0, 0) and design.undo_stack.count() == 2
    editor.select_paths([(0,)])
    actions.wrap_residual.trigger()
    assert design.stack[0].type == "Residual" and design.undo_stack.count() == 3
    actions.unwrap.trigger()  # the new Residual is selected: unwrap it again
    assert design.stack[0].type == "Conv2d" and editor.selected_paths() == [(0,)]
    assert design.undo_stack.count() == 4
    for _ in range(4):
        actions.undo.trigger()
    assert design.stack.to_config() == before


def test_a_selection_across_lists_cannot_be_wrapped(window):
    design, editor, actions = open_tree(window)
    editor.select_paths([(0,), (1, 0, 0)])
    assert not actions.wrap_residual.isEnabled()
    window.wrap_selected("Residual")  # even when asked: a message, no change
    assert "Cannot wrap" in window.statusBar().currentMessage() and design.undo_stack.count() == 0


def test_add_and_remove_a_branch(window):
    design, editor, actions = open_tree(window)
    editor.select_paths([(2, 1, 0)])  # the ReLU in branch 2: its Parallel gets the branch
    assert actions.add_branch.isEnabled() and not actions.remove_branch.isEnabled()
    actions.add_branch.trigger()
    assert len(design.stack[2].children) == 3 and design.undo_stack.count() == 1
    current = editor.view.currentIndex()
    assert current.data(BRANCH_ROLE) == 2 and current.data() == "Branch 3" and actions.remove_branch.isEnabled()
    assert design.validation.valid  # an empty branch passes the input on: concat of [2+4+4, 8, 8]
    assert editor.model.index(3, 2).data() == "[10, 8, 8]"
    editor.view.setCurrentIndex(editor.model.branch_index((2,), 0))
    actions.remove_branch.trigger()
    assert types(design.stack[2].children[0]) == ["ReLU"] and design.undo_stack.count() == 2
    actions.undo.trigger()
    actions.undo.trigger()
    assert [types(b) for b in design.stack[2].children] == [["Conv2d"], ["ReLU"]]


def test_keyboard_delete_enter_and_alt_arrows_inside_blocks(window, qtbot):
    design, editor, actions = open_tree(window)
    view = editor.view
    view.setFocus()
    editor.select_paths([(1, 0, 1)])  # the ReLU inside the Residual
    qtbot.keyClick(view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert types(design.stack[1].children[0]) == ["ReLU", "Conv2d"] and editor.selected_paths() == [(1, 0, 0)]
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert types(design.stack[1].children[0]) == ["Conv2d", "ReLU"] and editor.selected_paths() == [(1, 0, 1)]
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert types(design.stack[1].children[0]) == ["Conv2d"] and design.undo_stack.count() == 3
    assert editor.selected_paths() == [(1,)]  # nothing after it inside: its block
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert types(design.stack[1].children[0]) == ["Conv2d", "ReLU"]
    # Enter on a block closes and opens it; on a layer it opens the settings
    residual = editor.model.index(2, 0)
    editor.select_paths([(1,)])
    assert view.isExpanded(residual)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert not view.isExpanded(residual)
    design.set_param(0, "out_channels", 6)  # a change elsewhere keeps the closed block closed
    assert not view.isExpanded(editor.model.index(2, 0))
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert view.isExpanded(editor.model.index(2, 0))
    opened = []
    editor.layer_opened.connect(opened.append)
    editor.select_paths([(1, 0, 0)])
    qtbot.keyClick(view, Qt.Key.Key_Enter)
    assert opened == [1] and window.inspector.path == (1, 0, 0)
    # a closed block stays closed across a structural edit (a reset) that keeps it
    view.collapse(editor.model.index(3, 0))
    design.remove_at([(4,)])
    assert not view.isExpanded(editor.model.index(3, 0)) and view.isExpanded(editor.model.index(2, 0))


def test_the_inspector_edits_a_block_inside_a_block(window):
    design = window.design
    design.load(LayerStack.from_config([
        {"type": "Repeat", "params": {"times": 2}, "layers": [
            {"type": "Residual", "params": {"shortcut": "auto"}, "layers": [
                {"type": "Linear", "params": {"out_features": 6}}]}]},
        {"type": "Linear", "params": {"out_features": "auto"}}]).layers, (6,))
    window.stack_editor.select_paths([(0, 0, 0)])
    inspector = window.inspector
    assert inspector.path == (0, 0, 0) and sorted(inspector.editors) == ["shortcut"]
    assert inspector.title_label.text() == "1 › 1. Residual"
    combo = inspector.editors["shortcut"].combo
    combo.activated.emit(combo.findText("projection"))
    assert design.stack.node((0, 0, 0)).params["shortcut"] == "projection" and design.undo_stack.count() == 1
    assert design.validation.layers[0].children[0][0].shortcut is not None  # a Linear projection now
    window.window_actions.undo.trigger()
    assert design.stack.node((0, 0, 0)).params["shortcut"] == "auto"
    window.stack_editor.select_paths([(0,)])
    assert sorted(inspector.editors) == ["times"]


def test_blocks_are_in_the_palette_and_drop_into_a_branch(window, qtbot):
    design, editor, _actions = open_tree(window)
    palette = window.layer_palette
    assert isinstance(palette, LayerPalette)
    palette.set_filter("skip connection")
    assert palette.visible_layers() == ["Residual"]
    mime = palette.model.mimeData([palette.model.type_index("Residual")])
    branch = editor.model.branch_index((2,), 1)
    assert editor.model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, branch)
    assert types(design.stack[2].children[1]) == ["ReLU", "Residual"]
    assert editor.model.rowCount(editor.model.index(1, 0, editor.model.index(3, 0))) == 2
    menu = editor.build_context_menu(editor.model.branch_index((2,), 0))
    texts = [a.text().replace("&", "") for a in menu.actions() if a.text()]
    assert texts[0] == "Add Layer to Branch 1" and "Wrap in Residual" in texts and "Add Branch" in texts
    assert editor.build_context_menu(QModelIndex()).actions()[0].text() == "Add Layer"


def test_a_long_fix_inside_a_block_keeps_shapes_and_counts_in_view(qtbot):
    """The fix column gives way (its button elided) so that Output and Parameters never scroll off."""
    from netstudio.ui.designer.stack_editor import MIN_FIX_WIDTH, StackEditor
    from netstudio.ui.designer.stack_model import FIX, OUTPUT, PARAMETERS

    design = tree_design()
    design.stack.set_param_at((2, 0, 0), "kernel_size", 3)  # concat fails: a fix naming branch 1's Conv2d
    editor = StackEditor(design)
    qtbot.addWidget(editor)
    editor.resize(520, 400)
    editor.show()
    qtbot.waitUntil(lambda: not editor.view.isColumnHidden(FIX) and editor.view.viewport().width() > 0)
    header = editor.view.header()
    qtbot.waitUntil(lambda: sum(header.sectionSize(c) for c in range(header.count())) <= editor.view.viewport().width())
    assert header.sectionSize(FIX) >= MIN_FIX_WIDTH
    right = header.sectionViewportPosition(PARAMETERS) + header.sectionSize(PARAMETERS)
    assert header.sectionViewportPosition(OUTPUT) >= 0 and right <= editor.view.viewport().width()


def test_block_templates_open_from_the_start_page_as_an_open_tree(window):
    window.show_start_page()
    for key, block_row, inner in (("small-resnet", 4, 5), ("inception-block", 4, 4)):
        window.start_page.templates[key].click()
        assert window.centre.currentWidget() is window.design_tabs and window.design.validation.valid
        model, view = window.stack_model, window.stack_editor.view
        block = model.index(block_row, 0)
        assert model.rowCount(block) == inner and view.isExpanded(block)
        window.design.mark_saved()  # the next template must not ask to save
        window.show_start_page()
