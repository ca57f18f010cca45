"""Path-based edits of a design's tree: each is one undo step, and undo puts the exact tree back
(the very same spec objects, in the same places); redo makes the same tree again."""

import copy

import pytest

from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.ui.designer.design import Design
from tests.core.test_blocks import DESIGNS


def design_of(name):
    shape, layers = DESIGNS[name]
    return Design(LayerStack.from_config(copy.deepcopy(layers)), shape)


def identities(stack):
    """The tree as nested tuples of object ids: equal only if the very same objects are in place."""
    def walk(spec):
        return id(spec), tuple(tuple(walk(c) for c in inner) for inner in spec.children)
    return tuple(walk(s) for s in stack)


def check_one_step(design, edit):
    """Run *edit*; it must push one undo step, and undo/redo must restore each tree exactly."""
    before, ids_before = design.stack.to_config(), identities(design.stack)
    count = design.undo_stack.count()
    result = edit()
    assert design.undo_stack.count() == count + 1
    after, ids_after = design.stack.to_config(), identities(design.stack)
    assert after != before
    design.undo_stack.undo()
    assert design.stack.to_config() == before and identities(design.stack) == ids_before
    design.undo_stack.redo()
    assert design.stack.to_config() == after and identities(design.stack) == ids_after
    return result


def test_insert_into_a_branch_and_remove_inner_layers(qapp):
    design = design_of("parallel-concat")
    paths = check_one_step(design, lambda: design.insert_at((0, 2, 0), [LayerSpec.create("ReLU"),
                                                                       LayerSpec.create("Tanh")]))
    assert paths == [(0, 2, 0), (0, 2, 1)]
    assert [s.type for s in design.stack[0].children[2]] == ["ReLU", "Tanh"]
    # a path inside a selected block goes with the block: one Delete of the block
    check_one_step(design, lambda: design.remove_at([(0, 1, 1), (0, 2, 0), (0, 2, 1)]))
    assert [[s.type for s in b] for b in design.stack[0].children] == [["Conv2d"], ["Conv2d"], []]
    check_one_step(design, lambda: design.remove_at([(0,), (0, 0, 0)]))
    assert [s.type for s in design.stack] == ["AdaptiveAvgPool2d", "Flatten", "Linear"]


def test_move_into_a_block_out_of_it_and_between_branches(qapp):
    design = design_of("parallel-concat")
    relu = design.stack.node((0, 1, 1))
    assert check_one_step(design, lambda: design.move_to([(0, 1, 1)], (0, 0, 1))) == [(0, 0, 1)]
    assert design.stack.node((0, 0, 1)) is relu and len(design.stack[0].children[1]) == 1
    # out of the block to the top level, after the Flatten (a place as it was before the move)
    assert check_one_step(design, lambda: design.move_to([(0, 0, 1)], (3,))) == [(3,)]
    assert [s.type for s in design.stack] == ["Parallel", "AdaptiveAvgPool2d", "Flatten", "ReLU", "Linear"]
    # two top-level layers into the empty third branch
    moved = check_one_step(design, lambda: design.move_to([(1,), (3,)], (0, 2, 0)))
    assert moved == [(0, 2, 0), (0, 2, 1)]
    assert [s.type for s in design.stack[0].children[2]] == ["AdaptiveAvgPool2d", "ReLU"]
    assert [s.type for s in design.stack] == ["Parallel", "Flatten", "Linear"]


def test_a_block_cannot_move_into_itself(qapp):
    design = design_of("nested")
    with pytest.raises(ValueError, match="into itself"):
        design.move_to([(0,)], (0, 0, 0, 0, 0))
    assert design.undo_stack.count() == 0


def test_wrap_and_unwrap_are_one_step_each(qapp):
    design = design_of("residual-identity")
    block = check_one_step(design, lambda: design.wrap([(2,), (3,)], "Repeat"))
    assert block == (2,) and design.stack[2].type == "Repeat"
    assert [s.type for s in design.stack[2].children[0]] == ["Flatten", "Linear"]
    block = check_one_step(design, lambda: design.wrap([(1, 0, 0), (1, 0, 1)], "Parallel"))
    assert block == (1, 0, 0) and design.stack.node(block).type == "Parallel"
    assert [len(b) for b in design.stack.node(block).children] == [2, 0]
    assert check_one_step(design, lambda: design.unwrap((1,))) == [(1,), (2,)]
    assert [s.type for s in design.stack] == ["Conv2d", "Parallel", "ReLU", "Repeat"]
    with pytest.raises(ValueError, match="next to each other"):
        design.wrap([(0,), (2,)], "Residual")
    with pytest.raises(ValueError, match="not a block"):
        design.unwrap((0,))


def test_add_and_remove_branches(qapp):
    design = design_of("parallel-add")
    assert check_one_step(design, lambda: design.add_branch((0,))) == 3
    assert len(design.stack[0].children) == 4
    check_one_step(design, lambda: design.remove_branch((0,), 1))
    assert [[s.type for s in b] for b in design.stack[0].children] == [["Linear"], [], []]
    with pytest.raises(ValueError, match="no branches"):
        design.add_branch((1,))


def test_set_a_param_at_a_path_merges_and_undoes(qapp):
    design = design_of("nested")
    check_one_step(design, lambda: design.set_param_at((0, 0, 0, 0, 0), "merge", "add"))
    assert design.stack.node((0, 0, 0, 0, 0)).params["merge"] == "add"
    design.set_param_at((0, 0, 0), "shortcut", "projection")
    count = design.undo_stack.count()
    for value in (3, 4, 5):  # a spin box's steps merge into one undo step
        design.set_param_at((0,), "times", value, merge_key="spin")
    assert design.undo_stack.count() == count + 1 and design.stack[0].params["times"] == 5
    design.undo_stack.undo()
    assert design.stack[0].params["times"] == 2
    design.set_param_at((0, 0, 0, 0, 0, 1, 0), "out_channels", 3, merge_key="k")
    design.set_param_at((0, 0, 0, 0, 0, 1, 0), "out_channels", 4, merge_key="k")
    design.undo_stack.undo()
    assert design.stack.node((0, 0, 0, 0, 0, 1, 0)).params["out_channels"] == 2
