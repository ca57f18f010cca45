"""The inspector: a form from the params schema; edits are live, validated and undoable."""

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import QApplication, QLabel, QPushButton

from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.ui.designer.design import Design
from netstudio.ui.designer.inspector import Inspector
from netstudio.ui.designer.param_editors import float_step
from netstudio.ui.designer.stack_model import PARAMETERS, LayerStackModel


@pytest.fixture
def inspector(qtbot, design):
    inspector = Inspector(design)
    qtbot.addWidget(inspector)
    inspector.show()
    return inspector


def lose_focus(widget):
    QApplication.sendEvent(widget, QFocusEvent(QEvent.Type.FocusOut, Qt.FocusReason.TabFocusReason))


def test_nothing_selected_shows_a_hint(inspector):
    texts = [label.text() for label in inspector.findChildren(QLabel)]
    assert any("Select a layer" in t for t in texts)
    assert inspector.editors == {}


def test_the_form_follows_the_schema(inspector):
    inspector.show_layer(0)
    assert list(inspector.editors) == ["out_features", "bias"]
    assert inspector.editors["out_features"].spin.value() == 8
    assert inspector.editors["out_features"].spin.minimum() == 1
    assert inspector.editors["bias"].check.isChecked()
    assert inspector.output_label.text().count("[8]") == 1
    assert "in_features = 4" in inspector.inferred_label.text()


def test_an_edit_changes_the_stack_and_the_shapes_below(inspector, design):
    model = LayerStackModel(design)
    inspector.show_layer(0)
    inspector.editors["out_features"].spin.setValue(16)
    assert design.stack[0].params["out_features"] == 16
    assert design.validation.layers[0].output_shape == (16,)
    assert design.validation.layers[2].parameters == 16 * 2 + 2  # the next Linear's in_features followed
    assert model.index(3, PARAMETERS).data() == "34"
    assert "[16]" in inspector.output_label.text()
    design.undo_stack.undo()
    assert design.stack[0].params["out_features"] == 8
    assert inspector.editors["out_features"].spin.value() == 8  # the form follows undo


def test_consecutive_spin_steps_merge_into_one_undo_step(inspector, design):
    inspector.show_layer(0)
    spin = inspector.editors["out_features"].spin
    for _ in range(5):
        spin.stepUp()
    assert design.stack[0].params["out_features"] == 13
    assert design.undo_stack.count() == 1
    lose_focus(spin)  # a new visit to the field is a new undo step
    spin.stepDown()
    assert design.undo_stack.count() == 2
    design.undo_stack.undo()
    assert design.stack[0].params["out_features"] == 13
    design.undo_stack.undo()
    assert design.stack[0].params["out_features"] == 8


def test_stepping_back_to_the_start_leaves_no_undo_step(inspector, design):
    inspector.show_layer(0)
    spin = inspector.editors["out_features"].spin
    spin.stepUp()
    spin.stepDown()
    assert design.undo_stack.count() == 0 and design.undo_stack.isClean()


def test_check_boxes_do_not_merge(inspector, design):
    inspector.show_layer(0)
    check = inspector.editors["bias"].check
    check.setChecked(False)
    check.setChecked(True)
    assert design.undo_stack.count() == 2
    design.undo_stack.undo()
    assert design.stack[0].params["bias"] is False


def test_auto_only_on_the_last_linear(inspector, design):
    inspector.show_layer(0)
    assert not inspector.editors["out_features"].auto.isVisibleTo(inspector.editors["out_features"])
    inspector.show_layer(2)
    auto = inspector.editors["out_features"].auto
    assert auto.isVisibleTo(inspector.editors["out_features"])
    auto.setChecked(True)
    assert design.stack[2].params["out_features"] == "auto"
    assert not inspector.editors["out_features"].spin.isEnabled()
    design.set_input_shape((4,), output_width=3)
    assert design.validation.output_shape == (3,)
    auto.setChecked(False)
    assert design.stack[2].params["out_features"] == 2


def test_kernel_size_and_padding_editors(qtbot):
    design = Design(LayerStack([LayerSpec.create("Conv2d")]), (1, 8, 8))
    inspector = Inspector(design)
    qtbot.addWidget(inspector)
    inspector.show_layer(0)
    kernel = inspector.editors["kernel_size"]
    kernel.spins[1].setValue(5)
    assert design.stack[0].params["kernel_size"] == [3, 5]
    assert design.validation.output_shape == (16, 6, 4)
    padding = inspector.editors["padding"]
    assert [padding.mode.itemText(i) for i in range(padding.mode.count())] == ["size", "same", "valid"]
    padding.mode.setCurrentIndex(1)
    padding.mode.activated.emit(1)
    assert design.stack[0].params["padding"] == "same"
    assert design.validation.output_shape == (16, 8, 8)
    assert not padding.spins[0].isEnabled()


def test_pooling_stride_none_is_a_mode(qtbot):
    design = Design(LayerStack([LayerSpec.create("MaxPool2d")]), (1, 8, 8))
    inspector = Inspector(design)
    qtbot.addWidget(inspector)
    inspector.show_layer(0)
    stride = inspector.editors["stride"]
    assert stride.mode.currentText() == "= kernel"
    stride.mode.setCurrentIndex(0)
    stride.mode.activated.emit(0)
    assert design.stack[0].params["stride"] == 1


def test_a_bad_list_is_refused_in_place(qtbot):
    design = Design(LayerStack([LayerSpec.create("Unflatten", unflattened_size=[1, 2, 2])]), (4,))
    inspector = Inspector(design)
    qtbot.addWidget(inspector)
    inspector.show_layer(0)
    editor = inspector.editors["unflattened_size"]
    editor.edit.setText("2, x")
    editor.edit.editingFinished.emit()
    assert editor.error and design.stack[0].params["unflattened_size"] == [1, 2, 2]
    editor.edit.setText("2, 0")
    editor.edit.editingFinished.emit()
    assert "must be ≥ 1" in editor.error
    editor.edit.setText("2, 2")
    editor.edit.editingFinished.emit()
    assert editor.error == "" and design.stack[0].params["unflattened_size"] == [2, 2]


def test_float_editor(qtbot):
    design = Design(LayerStack([LayerSpec.create("Dropout"), LayerSpec.create("BatchNorm1d")]), (4,))
    inspector = Inspector(design)
    qtbot.addWidget(inspector)
    inspector.show_layer(0)
    spin = inspector.editors["p"].spin
    assert spin.maximum() < 1 and spin.singleStep() == pytest.approx(0.1)
    spin.setValue(0.3)
    assert design.stack[0].params["p"] == pytest.approx(0.3)
    inspector.show_layer(1)
    eps = inspector.editors["eps"].spin
    assert eps.text() == "1e-05" and eps.minimum() > 0
    assert float_step(1e-5) == pytest.approx(1e-5) and float_step(1.0) == pytest.approx(0.1)


def test_the_inspector_shows_the_error_and_its_fix_works(qtbot):
    design = Design(LayerStack([LayerSpec.create("Conv2d", kernel_size=5)]), (1, 3, 3))
    inspector = Inspector(design)
    qtbot.addWidget(inspector)
    inspector.show_layer(0)
    texts = " ".join(label.text() for label in inspector.findChildren(QLabel))
    assert "kernel 5×5 is larger than the 3×3 input" in texts
    button = inspector.findChild(QPushButton, "inspectorFixButton")
    assert button.text() == "Set kernel_size to 3"
    button.click()
    assert design.stack[0].params["kernel_size"] == 3 and design.validation.valid
    assert inspector.editors["kernel_size"].spins[0].value() == 3
    design.undo_stack.undo()
    assert design.stack[0].params["kernel_size"] == 5


def test_the_inspector_follows_its_layer_when_it_moves(inspector, design):
    inspector.show_layer(2)
    design.insert_layers(0, [LayerSpec.create("Identity")])
    assert inspector.layer_index == 3
    assert inspector.title_label.text() == "4. Linear"
    design.remove_layers([3])
    assert inspector.layer_index is None or inspector.layer_index < len(design.stack)


def test_input_shape_page(inspector, design):
    inspector.show_input()
    assert inspector.shape_edit.text() == "4"
    inspector.shape_edit.setText("2, 2")
    inspector.shape_edit.editingFinished.emit()
    assert design.input_shape == (2, 2)
    inspector.shape_edit.setText("nonsense")
    inspector.shape_edit.editingFinished.emit()
    assert design.input_shape == (2, 2) and "whole numbers" in inspector.shape_error.text()
    design.undo_stack.undo()
    assert design.input_shape == (4,) and inspector.shape_edit.text() == "4"


def test_every_layer_type_opens_in_the_inspector(qtbot):
    from netstudio.core.design.layers import get_layer_type, layer_names
    from tests.core.test_layers import SAMPLE_INPUT

    for name in layer_names():
        design = Design(LayerStack([LayerSpec.create(name)]), SAMPLE_INPUT[name])
        inspector = Inspector(design)
        qtbot.addWidget(inspector)
        inspector.show_layer(0)
        assert list(inspector.editors) == [p.name for p in get_layer_type(name).params], name


def test_a_nullable_int_has_a_none_box(qtbot):
    design = Design(LayerStack([LayerSpec.create("Embedding")]), (6,))
    inspector = Inspector(design)
    qtbot.addWidget(inspector)
    inspector.show_layer(0)
    editor = inspector.editors["padding_idx"]
    assert editor.none.isChecked() and not editor.spin.isEnabled()
    editor.none.setChecked(False)
    assert design.stack[0].params["padding_idx"] == 0 and editor.spin.isEnabled()
    editor.none.setChecked(True)
    assert design.stack[0].params["padding_idx"] is None
    design.undo_stack.undo()
    assert design.stack[0].params["padding_idx"] == 0


def test_no_layer_s_settings_scroll_sideways_in_the_default_inspector_width(qtbot, design):
    """The right dock opens 340 px wide: Conv3d's padding (a mode and three sizes) needed 417 px,
    a pooling stride 434 and ZeroPad2d's four sizes 321, and the form scrolled sideways."""
    from netstudio.core.design.layers import layer_names

    inspector = Inspector(design)
    qtbot.addWidget(inspector)
    inspector.resize(340, 700)
    inspector.show()
    wide = {}
    for name in layer_names():
        design.replace_layer(0, LayerSpec.create(name))  # on 4 features: most also show an error box
        inspector.show_layer(0)
        page = inspector.scroll.widget()
        qtbot.waitUntil(lambda page=page: page.isVisible() and all(e.isVisible() for e in inspector.editors.values()))
        needed = inspector.scroll.widget().minimumSizeHint().width()  # what makes the scroll bar appear
        if needed > inspector.scroll.viewport().width():
            wide[name] = needed - inspector.scroll.viewport().width()
    assert not wide, f"sideways scrolling by px: {wide}"
