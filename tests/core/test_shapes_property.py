"""Property test: the analytic shape rules agree with PyTorch on random stacks.

For random stacks and inputs, PyTorch runs the layers one by one. Wherever validation accepts a
layer, PyTorch must accept it too with the same output shape and parameter count; where PyTorch
fails, validation must have reported an error on that very layer (or an earlier one). Validation
itself never raises. The rules may be stricter than PyTorch only in the documented ways
(``STRICTER``), e.g. Linear refuses an unflattened image that PyTorch would quietly accept.
"""

import math
import os

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from netstudio.core.design.layers import get_layer_type, layer_names
from netstudio.core.design.params import Param
from netstudio.core.design.stack import LayerSpec, LayerStack

DIM_PARAMS = {"dim", "start_dim", "end_dim"}


def param_values(param: Param):
    if param.kind == "bool":
        base = st.booleans()
    elif param.kind == "choice":
        base = st.sampled_from(param.choices)
    elif param.kind == "float":
        low = param.minimum if param.minimum is not None else -2.0
        high = param.maximum if param.maximum is not None else 2.0
        base = st.floats(low, high, exclude_min=param.exclusive_minimum, exclude_max=param.exclusive_maximum,
                         allow_nan=False)
    elif param.kind == "int":
        if param.name == "groups":
            base = st.sampled_from([1, 1, 1, 2, 3])
        elif param.name in DIM_PARAMS:
            base = st.integers(-4, 4)
        else:
            low = int(param.minimum) if param.minimum is not None else -3
            base = st.integers(low, low + 6)
    elif param.kind == "size":
        low = int(param.minimum)
        one = st.integers(low, low + 4)
        if param.name in ("dilation", "output_padding", "padding"):
            one = st.sampled_from([low, low, low, low + 1])
        base = st.one_of(one, st.lists(one, min_size=param.arity, max_size=param.arity))
        if param.strings:
            base = st.one_of(base, st.sampled_from(param.strings))
    elif param.name == "dims":  # Permute: mostly orders of 2 to 4 dimensions, some of them wrong
        orders = st.integers(2, 4).flatmap(lambda n: st.permutations(list(range(n))))
        base = st.one_of(orders, orders, st.lists(st.integers(0, 4), min_size=1, max_size=4))
    else:
        base = st.lists(st.integers(1, 6), min_size=1, max_size=3)
    if param.allow_none:
        base = st.one_of(st.none(), base)
    if param.allow_auto:
        base = st.one_of(st.just("auto"), base)
    return base


@st.composite
def layer_specs(draw):
    name = draw(st.sampled_from(layer_names()))
    layer_type = get_layer_type(name)
    params = {p.name: draw(param_values(p)) for p in layer_type.params}
    return LayerSpec(name, params)


input_shapes = st.one_of(
    st.tuples(st.integers(1, 40)),
    st.tuples(st.integers(1, 12), st.integers(1, 12)),
    st.tuples(st.integers(1, 6), st.integers(1, 20), st.integers(1, 20)),
)


#: Layers whose rule refuses inputs PyTorch would accept, on purpose (say why in the rule's message).
#: Any layer may also refuse a setting out of bounds ("must be"), an "auto" that is not on the last
#: Linear, or an "empty output" (PyTorch returns a zero-size tensor that cannot be trained).
STRICTER = {
    "Linear": "needs a flat input",  # PyTorch applies it to the last dim of an image
    "Conv1d": "needs a [channels, length]", "Conv2d": "needs a [channels, height, width]",
    "ConvTranspose2d": "needs a [channels, height, width]",  # unbatched inputs would mix samples
    "MaxPool1d": "needs a", "AvgPool1d": "needs a", "MaxPool2d": "needs a", "AvgPool2d": "needs a",
    "AdaptiveAvgPool2d": "needs a", "BatchNorm1d": "needs a", "LSTM": "needs a", "GRU": "needs a",
    "Flatten": "batch dimension", "Unflatten": "batch dimension",  # torch allows it, the trainer cannot
    "Dropout": "p must be < 1",
    "LayerNorm": "mix the samples",
    "Conv3d": "needs a", "ConvTranspose1d": "needs a", "MaxPool3d": "needs a", "AvgPool3d": "needs a",
    "AdaptiveAvgPool1d": "needs a", "AdaptiveMaxPool1d": "needs a", "AdaptiveMaxPool2d": "needs a",
    "Dropout1d": "needs a", "Dropout2d": "needs a", "AlphaDropout": "p must be < 1",
    "InstanceNorm1d": ("needs a", "more than one value"),  # torch's eval with running stats takes one value
    "InstanceNorm2d": ("needs a", "more than one value"),
    "RMSNorm": "mix the samples", "GLU": "batch dimension", "RNN": "needs a",
    "Embedding": "needs a", "PositionalEmbedding": "needs a", "MultiheadAttention": "needs a",
    "TransformerEncoderLayer": "needs a", "SequencePool": "needs a",
    "ZeroPad2d": "needs a", "ReflectionPad2d": "needs a", "Upsample": "needs a", "PixelShuffle": "needs a",
    "Permute": "batch dimension first",
}


def allowed_refusals(type_name: str) -> tuple[str, ...]:
    stricter = STRICTER.get(type_name, ())
    return (stricter,) if isinstance(stricter, str) else stricter


def torch_run(validation, width):
    """Run every layer in PyTorch in turn; return per-layer (shape, count) or the exception."""
    torch.manual_seed(0)
    x = torch.randn(3, *validation.input_shape)
    outcomes = []
    for result in validation.layers:
        layer_type = get_layer_type(result.type)
        params = {n: result.params[n] for n in layer_type.param_index}
        params = {n: (width if v == "auto" else v) for n, v in params.items()}
        if result.type == "Embedding":  # it looks up token ids: give it some it holds
            x = torch.randint(0, params["num_embeddings"], x.shape).to(torch.float32)
        try:
            module = layer_type.build(tuple(x.shape[1:]), params).eval()
            with torch.no_grad():
                x = module(x)
        except Exception as exc:  # noqa: BLE001 - any torch refusal counts
            outcomes.append(exc)
            break
        outcomes.append((tuple(x.shape[1:]), sum(p.numel() for p in module.parameters())))
    return outcomes


#: Raise for a thorough hunt: NETSTUDIO_PROPERTY_EXAMPLES=20000 pytest tests/core/test_shapes_property.py
EXAMPLES = int(os.environ.get("NETSTUDIO_PROPERTY_EXAMPLES", "500"))


# A one-layer LSTM/GRU with dropout is legal (the dropout does nothing); torch only warns.
@pytest.mark.filterwarnings("ignore:dropout option adds dropout after all but last recurrent layer")
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=input_shapes, specs=st.lists(layer_specs(), min_size=1, max_size=4), width=st.integers(1, 5))
def test_shape_rules_match_torch(shape, specs, width):
    validation = LayerStack(specs).validate(shape, output_width=width, batch_size=3)
    outcomes = torch_run(validation, width)
    for result, outcome in zip(validation.layers, outcomes):
        if result.has_error:
            if not isinstance(outcome, Exception):
                message = result.issues[0].message
                assert any(word in message for word in (*allowed_refusals(result.type), "must be", "only the last Linear", "empty output")), (
                    f"{result.type} flagged ({message}) but torch accepts it")
            break  # shapes after an error are unknown to validation
        assert not isinstance(outcome, Exception), (
            f"validation accepted {result.type} {result.params} on {result.input_shape} but torch failed: {outcome}")
        torch_shape, count = outcome
        assert result.output_shape == torch_shape, f"{result.type}: ours {result.output_shape}, torch {torch_shape}"
        assert result.parameters == count, f"{result.type}: ours {result.parameters}, torch {count}"
    if validation.valid:
        assert len(outcomes) == len(specs)
        assert validation.total_parameters == sum(o[1] for o in outcomes)
        assert validation.output_shape == outcomes[-1][0]
        assert math.prod(validation.output_shape) >= 1


# -- trees of blocks ---------------------------------------------------------------------------------

#: Layers that often fit whatever comes in, so random trees are valid often enough to compare.
FRIENDLY = [LayerSpec("ReLU", {}), LayerSpec("Tanh", {}), LayerSpec("Identity", {})]


@st.composite
def friendly_specs(draw):
    kind = draw(st.sampled_from(["act", "Linear", "Conv2d", "Conv1d", "BatchNorm2d", "any"]))
    if kind == "act":
        return draw(st.sampled_from(FRIENDLY)).copy()
    if kind == "Linear":
        return LayerSpec.create("Linear", out_features=draw(st.integers(1, 6)))
    if kind in ("Conv2d", "Conv1d"):
        k = draw(st.sampled_from([1, 3]))
        return LayerSpec.create(kind, out_channels=draw(st.integers(1, 4)), kernel_size=k,
                                padding=draw(st.sampled_from([0, k // 2])), stride=draw(st.sampled_from([1, 1, 2])))
    if kind == "BatchNorm2d":
        return LayerSpec.create("BatchNorm2d")
    spec = draw(layer_specs())
    return spec if spec.type != "Embedding" else LayerSpec.create("ReLU")  # ids need an integer input


def tree_specs(depth: int = 0):
    """A layer, or (up to 3 levels deep) a block of such."""
    leaf = friendly_specs()
    if depth >= 3:
        return leaf
    inner = st.lists(st.deferred(lambda: tree_specs(depth + 1)), min_size=0, max_size=3)

    @st.composite
    def block(draw):
        kind = draw(st.sampled_from(["Residual", "Parallel", "Repeat"]))
        spec = LayerSpec.create(kind)
        if kind == "Residual":
            spec.params["shortcut"] = draw(st.sampled_from(["auto", "auto", "identity", "projection"]))
            spec.children = [draw(inner)]
        elif kind == "Parallel":
            spec.params["merge"] = draw(st.sampled_from(["concat", "add"]))
            spec.children = draw(st.lists(inner, min_size=1, max_size=3))
        else:
            spec.params["times"] = draw(st.integers(1, 3))
            spec.children = [draw(inner)]
        return spec

    return st.one_of(leaf, leaf, block())


@settings(max_examples=max(EXAMPLES // 3, 50), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=input_shapes, specs=st.lists(tree_specs(), min_size=1, max_size=4), width=st.integers(1, 5))
def test_shape_rules_inside_blocks_match_torch(shape, specs, width):
    """Random trees of blocks: a valid one builds and runs in torch with the same shapes and
    parameter counts, block by block; an invalid one reports its errors at paths of the tree."""
    from netstudio.core.design import paths
    from netstudio.core.design.builder import build_model

    stack = LayerStack(specs)
    validation = stack.validate(shape, output_width=width, batch_size=3)
    json_doc = validation.to_json()  # never raises either
    assert len(json_doc["layers"]) == len(specs)
    if not validation.valid:
        errors = [r for r in validation.walk() if r.has_error]
        assert errors or any(i.severity == "error" for i in validation.issues)
        for result in errors:
            assert paths.node_at(list(stack), result.path).type == result.type
            assert result.path_text == paths.path_text(list(stack), result.path)
        return
    event(f"valid, blocks: {any(s.children for s in specs)}")
    net = build_model(stack, shape, width, seed=0, validation=validation).eval()
    x = torch.randn(3, *shape)
    with torch.no_grad():
        for result, (_, module) in zip(validation.layers, net.named_children()):
            x = module(x)
            assert tuple(x.shape[1:]) == result.output_shape, f"{result.type}: ours {result.output_shape}"
            assert result.parameters == sum(p.numel() for p in module.parameters()), result.type
    assert validation.total_parameters == sum(p.numel() for p in net.parameters())
