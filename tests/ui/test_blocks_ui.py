"""A design with blocks in the window's model: a block is one row of the stack with its inner
layers' issues, its fixes apply inside it as one undo step, and its settings edit like a layer's."""

import copy

from netstudio.core.design.stack import LayerStack
from netstudio.ui.designer.design import Design
from netstudio.ui.designer.stack_model import ISSUES_ROLE, OUTPUT, SETTINGS, LayerStackModel
from tests.core.test_blocks import DESIGNS


def design_of(name):
    shape, layers = DESIGNS[name]
    layers = copy.deepcopy(layers)
    return Design(LayerStack.from_config(layers), shape)


def test_a_block_is_a_row_with_its_settings_shape_and_inner_issues(qapp):
    design = design_of("parallel-concat")
    model = LayerStackModel(design)
    assert model.index(1, 0).data() == "Parallel" and model.index(1, SETTINGS).data() == "concat"
    assert model.index(1, OUTPUT).data() == "[9, 8, 8]"
    design.stack.set_param_at((0, 1, 0), "padding", 0)  # branch 2's Conv2d now gives [2, 6, 6]
    issues = model.index(1, 0).data(ISSUES_ROLE)
    assert issues and "branch 2" in issues[0].message and model.index(1, OUTPUT).data() == "?"


def test_a_fix_inside_a_block_is_one_undo_step(qapp):
    design = design_of("parallel-concat")
    before = design.stack.to_config()
    design.stack.set_param_at((0, 1, 0), "padding", 0)
    broken = design.stack.to_config()
    fix = design.validation.row_issues(0)[0].fix
    design.apply_fix(0, fix)
    assert design.validation.valid and design.stack.to_config() == before
    design.undo_stack.undo()
    assert design.stack.to_config() == broken and not design.validation.valid


def test_block_settings_edit_with_undo(qapp):
    design = design_of("repeat")
    design.set_param(0, "times", 5)
    assert design.stack[0].params["times"] == 5 and design.validation.valid
    design.undo_stack.undo()
    assert design.stack[0].params["times"] == 3


def test_the_inspector_edits_a_blocks_own_settings(qapp):
    from netstudio.ui.designer.inspector import Inspector

    design = design_of("residual-projection")
    inspector = Inspector(design)
    inspector.show_layer(0)
    assert sorted(inspector.editors) == ["shortcut"]
    design = design_of("parallel-add")
    inspector = Inspector(design)
    inspector.show_layer(0)
    assert sorted(inspector.editors) == ["merge"]
