"""Validation issues: the messages and fixes the designer shows, and the memory guard."""

import pytest

from netstudio.core.design.stack import LayerSpec, LayerStack

S = LayerSpec.create


def first_issue(stack, shape, **kw):
    v = stack.validate(shape, **kw)
    for r in v.layers:
        if r.issues:
            return r.index, r.issues[0]
    return None, v.issues[0] if v.issues else None


def test_linear_on_an_image_suggests_flatten():
    index, issue = first_issue(LayerStack([S("Conv2d", out_channels=8, padding=1), S("Linear")]), (1, 8, 8))
    assert index == 1 and issue.severity == "error"
    assert issue.message == "Linear needs a flat input, got [8, 8, 8]: insert Flatten"
    assert issue.fix.op == "insert" and issue.fix.layer["type"] == "Flatten"


def test_kernel_larger_than_input():
    index, issue = first_issue(LayerStack([S("Conv2d", kernel_size=5)]), (1, 3, 3))
    assert index == 0 and "kernel 5×5 is larger than the 3×3 input" in issue.message
    assert issue.fix.op == "set_param" and issue.fix.value == 3


def test_dropout_p_must_be_below_one():
    index, issue = first_issue(LayerStack([S("Dropout", p=1.0)]), (4,))
    assert index == 0 and issue.message == "p must be < 1"


def test_only_last_linear_may_be_auto():
    stack = LayerStack([S("Linear", out_features="auto"), S("Linear", out_features=2)])
    index, issue = first_issue(stack, (4,))
    assert index == 0 and "only the last Linear" in issue.message


def test_groupnorm_needs_a_divisor_and_offers_one():
    index, issue = first_issue(LayerStack([S("GroupNorm", num_groups=4)]), (6, 4, 4))
    assert "must divide the 6 channels" in issue.message and issue.fix.value == 3


def test_conv_on_flat_square_input_suggests_unflatten():
    index, issue = first_issue(LayerStack([S("Conv2d")]), (784,))
    assert issue.fix.layer == {"type": "Unflatten", "params": {"dim": 1, "unflattened_size": [1, 28, 28]}}


def test_downstream_shapes_unknown_after_an_error():
    v = LayerStack([S("Linear"), S("ReLU"), S("Linear")]).validate((2, 3, 4))
    assert v.layers[0].output_shape is None and v.layers[2].output_shape is None
    assert not v.valid and v.first_error().startswith("layer 1 (Linear)")


def test_empty_stack_is_not_valid():
    v = LayerStack().validate((4,))
    assert not v.valid and "no layers" in v.issues[0].message


def test_warnings_do_not_invalidate():
    v = LayerStack([S("LSTM", dropout=0.3), S("Softmax", dim=0)]).validate((5, 2))
    assert v.valid
    assert "num_layers = 1" in v.layers[0].issues[0].message
    assert "batch" in v.layers[1].issues[0].message


def test_unallocatable_stack_is_an_error_before_anything_is_built():
    stack = LayerStack([S("Linear", out_features=10**12)])
    v = stack.validate((10,))
    assert not v.valid
    assert "to train" in v.layers[0].issues[0].message
    assert v.memory_bytes > 10**13


def test_memory_estimate_counts_params_and_activations():
    v = LayerStack([S("Linear", out_features=10)]).validate((10,), batch_size=4)
    params = 110
    assert v.memory_bytes == 4 * (4 * params + 2 * 4 * 10) + 4 * 4 * 10


@pytest.mark.parametrize("value", [-1, 0, "x", 2.5, None, True])
def test_bad_param_values_become_issues(value):
    v = LayerStack([LayerSpec("Linear", {"out_features": value, "bias": True})]).validate((3,))
    assert not v.valid and v.layers[0].issues[0].message.startswith("out_features must be")


def test_unknown_type_in_stack_is_an_issue_not_an_exception():
    v = LayerStack([LayerSpec("Conv4d", {})]).validate((3,))
    assert not v.valid and "unknown layer type" in v.layers[0].issues[0].message


def test_bad_input_shape_is_an_issue():
    v = LayerStack([S("ReLU")]).validate((0, 3))
    assert not v.valid


def test_stack_events_in_order():
    stack = LayerStack()
    seen = []
    for name in ("inserting", "inserted", "removing", "removed", "moving", "moved", "changed"):
        getattr(stack, name).connect(lambda *a, n=name: seen.append((n,) + tuple(x for x in a if isinstance(x, int))))
    stack.append(S("ReLU"))
    stack.append(S("Tanh"))
    stack.move(0, 1)
    stack.set_param(0, "foo", 1)
    stack.remove(1)
    assert seen == [("inserting", 0), ("inserted", 0), ("inserting", 1), ("inserted", 1),
                    ("moving", 0, 1), ("moved", 0, 1), ("changed", 0), ("removing", 1), ("removed", 1)]
    assert [s.type for s in stack] == ["Tanh"]
