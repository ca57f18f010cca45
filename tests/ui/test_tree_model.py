"""The stack model as a tree (issue 19): blocks hold their inner rows, a Parallel its "Branch N"
rows; inner rows show shapes, parameters and issues; drags carry paths, so that drops move layers
into a block, out of it and between branches, and palette drops insert at a path, each one undo step."""

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QAbstractItemModelTester

from netstudio.core.design.stack import LayerStack
from netstudio.ui.designer.design import Design
from netstudio.ui.designer.palette import LayerPaletteModel
from netstudio.ui.designer.stack_model import (
    BRANCH_ROLE,
    FIX_ROLE,
    LAYER_MIME,
    OUTPUT,
    PARAMETERS,
    PATH_ROLE,
    SETTINGS,
    SEVERITY_ROLE,
    LayerStackModel,
)

COPY, MOVE = Qt.DropAction.CopyAction, Qt.DropAction.MoveAction


def conv(out, k=3, **params):
    return {"type": "Conv2d", "params": {"out_channels": out, "kernel_size": k, **params}}


def layer(kind, **params):
    return {"type": kind, "params": params}


def tree_design():
    """Conv2d, Residual[Conv2d, ReLU], Parallel(concat)[[Conv2d 1×1], [ReLU]], Flatten, Linear on [3, 8, 8]."""
    return Design(LayerStack.from_config([
        conv(4, padding=1),
        {"type": "Residual", "params": {"shortcut": "auto"}, "layers": [conv(4, padding=1), layer("ReLU")]},
        {"type": "Parallel", "params": {"merge": "concat"}, "branches": [[conv(2, k=1)], [layer("ReLU")]]},
        layer("Flatten"), layer("Linear", out_features="auto")]), (3, 8, 8))


@pytest.fixture
def tree(qapp):
    design = tree_design()
    model = LayerStackModel(design)
    model.tester = QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    return design, model


def texts(model, parent=QModelIndex()):
    return [model.index(r, 0, parent).data() for r in range(model.rowCount(parent))]


def config(design):
    return design.stack.to_config()


def test_blocks_hold_their_inner_rows_and_branches(tree):
    design, model = tree
    residual, parallel = model.index(2, 0), model.index(3, 0)
    assert texts(model) == ["Input", "Conv2d", "Residual", "Parallel", "Flatten", "Linear"]
    assert texts(model, residual) == ["Conv2d", "ReLU"]
    assert texts(model, parallel) == ["Branch 1", "Branch 2"]
    branch2 = model.index(1, 0, parallel)
    assert texts(model, model.index(0, 0, parallel)) == ["Conv2d"] and texts(model, branch2) == ["ReLU"]
    assert branch2.data(BRANCH_ROLE) == 1 and branch2.data(PATH_ROLE) == (2,)
    inner = model.index(0, 0, residual)
    assert inner.parent() == residual and inner.data(PATH_ROLE) == (1, 0, 0)
    assert model.index(0, 0, model.index(1, 0, parallel)).parent() == branch2
    # inner rows show their shape, settings and parameters like top-level rows
    assert model.index(0, OUTPUT, residual).data() == "[4, 8, 8]"
    assert model.index(0, SETTINGS, residual).data() == "3×3, 4 ch, pad 1×1"
    assert model.index(0, PARAMETERS, residual).data() == "148"  # 4 × 4 × 9 + 4
    assert model.index(0, OUTPUT, parallel).data() == "[2, 8, 8]" and model.index(1, OUTPUT, parallel).data() == "[4, 8, 8]"
    assert model.index(3, OUTPUT).data() == "[6, 8, 8]"
    assert model.index(2, SETTINGS).data() == "+ auto shortcut"  # a choice called auto is not a size
    assert model.index_of_path((2, 1, 0)) == model.index(0, 0, branch2)


def test_an_issue_inside_a_block_shows_on_its_own_row_and_its_fix_applies_there(tree):
    from netstudio.core.design.stack import LayerSpec

    design, model = tree
    design.stack.insert_at((1, 0, 1), LayerSpec.create("BatchNorm1d"))  # wrong for [4, 8, 8]
    broken = config(design)
    residual = model.index(2, 0)
    inner = model.index(1, 0, residual)
    assert inner.data() == "BatchNorm1d" and inner.data(SEVERITY_ROLE) == "error"
    assert model.index(0, 0, residual).data(SEVERITY_ROLE) is None
    assert residual.data(SEVERITY_ROLE) == "error"  # a block's row shows what is wrong inside it
    fix = inner.data(FIX_ROLE)
    assert fix.label == "Replace with BatchNorm2d" and fix.path == (0, 1)  # aimed from the top-level row
    design.apply_fix(inner.data(PATH_ROLE)[0], fix)
    assert design.validation.valid and texts(model, model.index(2, 0)) == ["Conv2d", "BatchNorm2d", "ReLU"]
    design.undo_stack.undo()
    assert config(design) == broken
    # an error of the Parallel itself: its fix aims at the Conv2d in branch 1
    design.stack.remove_at((1, 0, 1))
    design.stack.set_param_at((2, 0, 0), "kernel_size", 3)
    parallel = model.index(3, 0)
    assert parallel.data(SEVERITY_ROLE) == "error" and model.index(3, OUTPUT).data() == "?"
    design.apply_fix(2, parallel.data(FIX_ROLE))
    assert design.validation.valid


def test_a_palette_drop_on_a_residual_goes_into_it_one_undo_step(tree):
    design, model = tree
    before = config(design)
    palette = LayerPaletteModel()
    mime = palette.mimeData([palette.type_index("BatchNorm2d")])
    residual = model.index(2, 0)
    assert model.canDropMimeData(mime, COPY, -1, 0, residual)
    assert model.dropMimeData(mime, COPY, -1, 0, residual)  # onto the block: the end of its layers
    assert [s.type for s in design.stack.node((1,)).children[0]] == ["Conv2d", "ReLU", "BatchNorm2d"]
    assert texts(model, model.index(2, 0)) == ["Conv2d", "ReLU", "BatchNorm2d"]
    assert model.dropMimeData(mime, COPY, 0, 0, model.index(1, 0, model.index(3, 0)))  # first in branch 2
    assert [s.type for s in design.stack.node((2,)).children[1]] == ["BatchNorm2d", "ReLU"]
    assert design.undo_stack.count() == 2
    design.undo_stack.undo()
    design.undo_stack.undo()
    assert config(design) == before


def test_drag_a_layer_into_a_block_out_of_it_and_between_branches_with_undo(tree):
    design, model = tree
    before = config(design)
    # into: the top-level Conv2d (row 1) to the start of the Residual's layers
    mime = model.mimeData([model.index(1, 0)])
    assert model.dropMimeData(mime, MOVE, 0, 0, model.index(2, 0))
    assert [s.type for s in design.stack] == ["Residual", "Parallel", "Flatten", "Linear"]
    assert [s.type for s in design.stack[0].children[0]] == ["Conv2d", "Conv2d", "ReLU"]
    assert design.undo_stack.count() == 1
    # out: the Residual's ReLU (its third row) to the top level, before Flatten (row 3)
    mime = model.mimeData([model.index(2, 0, model.index(1, 0))])
    assert model.dropMimeData(mime, MOVE, 3, 0, QModelIndex())
    assert [s.type for s in design.stack] == ["Residual", "Parallel", "ReLU", "Flatten", "Linear"]
    # between branches: branch 1's Conv2d onto branch 2's row (the end of branch 2)
    parallel = model.index(2, 0)
    mime = model.mimeData([model.index(0, 0, model.index(0, 0, parallel))])
    assert model.dropMimeData(mime, MOVE, -1, 0, model.index(1, 0, model.index(2, 0)))
    assert [[s.type for s in b] for b in design.stack[1].children] == [[], ["ReLU", "Conv2d"]]
    assert texts(model, model.index(0, 0, model.index(2, 0))) == []
    assert design.undo_stack.count() == 3
    moved = design.stack.node((1, 1, 1))
    design.undo_stack.undo()
    assert design.stack.node((1, 0, 0)) is moved  # the very spec goes back
    design.undo_stack.undo()
    design.undo_stack.undo()
    assert config(design) == before
    design.undo_stack.redo()
    assert [s.type for s in design.stack[0].children[0]] == ["Conv2d", "Conv2d", "ReLU"]


def test_a_block_does_not_drop_into_itself(tree):
    design, model = tree
    residual = model.index(2, 0)
    mime = model.mimeData([residual, model.index(0, 0, residual)])  # the row inside goes with its block
    assert mime.text() == "Residual"
    assert not model.canDropMimeData(mime, MOVE, -1, 0, model.index(1, 0, residual))
    assert not model.dropMimeData(mime, MOVE, -1, 0, residual)
    assert design.undo_stack.count() == 0


def test_a_copy_drop_of_a_block_copies_what_it_holds(tree):
    design, model = tree
    mime = model.mimeData([model.index(3, 0)])
    assert LAYER_MIME in mime.formats()
    assert model.dropMimeData(mime, COPY, -1, 0, QModelIndex())
    assert design.stack[5].type == "Parallel" and design.stack[5] is not design.stack[2]
    assert design.stack[5].get_config() == design.stack[2].get_config()
    assert texts(model, model.index(6, 0)) == ["Branch 1", "Branch 2"]


def test_wrap_and_unwrap_are_one_undo_step_each_in_the_model(tree):
    design, model = tree
    before = config(design)
    block = design.wrap([(3,), (4,)], "Repeat")
    assert block == (3,) and texts(model, model.index(4, 0)) == ["Flatten", "Linear"]
    design.unwrap((2,))
    assert texts(model) == ["Input", "Conv2d", "Residual", "Conv2d", "ReLU", "Repeat"]
    assert design.undo_stack.count() == 2
    design.undo_stack.undo()
    assert texts(model, model.index(3, 0)) == ["Branch 1", "Branch 2"]
    design.undo_stack.undo()
    assert config(design) == before and texts(model)[-2:] == ["Flatten", "Linear"]
