"""Every catalog entry: config round trip, build, forward pass whose shape equals the inferred one."""

import math

import pytest
import torch

from netstudio.core.design.builder import build_model, module_names
from netstudio.core.design.layers import (
    CATEGORIES,
    LayerType,
    get_layer_type,
    layer_names,
    register,
)
from netstudio.core.design.stack import LayerSpec, LayerStack

#: An input shape each layer type accepts with its default parameters.
SAMPLE_INPUT = {
    "Linear": (8,), "Dropout": (8,), "Identity": (8,), "Flatten": (3, 4, 4), "Unflatten": (784,),
    "Conv1d": (3, 16), "Conv2d": (3, 16, 16), "ConvTranspose2d": (3, 8, 8),
    "MaxPool1d": (3, 16), "MaxPool2d": (3, 16, 16), "AvgPool1d": (3, 16), "AvgPool2d": (3, 16, 16),
    "AdaptiveAvgPool2d": (3, 7, 5),
    "BatchNorm1d": (8,), "BatchNorm2d": (4, 6, 6), "LayerNorm": (5, 8), "GroupNorm": (4, 6, 6),
    "ReLU": (8,), "LeakyReLU": (8,), "ELU": (8,), "GELU": (8,), "SiLU": (8,), "Sigmoid": (8,),
    "Tanh": (8,), "Softmax": (8,), "LogSoftmax": (8,),
    "LSTM": (5, 4), "GRU": (5, 4),
    # Added with the catalog's growth to 62 types (issue 19):
    "Dropout1d": (3, 8), "Dropout2d": (3, 6, 6), "AlphaDropout": (8,),
    "Conv3d": (2, 6, 6, 6), "ConvTranspose1d": (3, 8),
    "MaxPool3d": (2, 6, 6, 6), "AvgPool3d": (2, 6, 6, 6), "AdaptiveAvgPool1d": (3, 9), "AdaptiveMaxPool1d": (3, 9),
    "AdaptiveMaxPool2d": (3, 7, 5),
    "InstanceNorm1d": (3, 8), "InstanceNorm2d": (3, 5, 5), "RMSNorm": (5, 8),
    "ReLU6": (8,), "SELU": (8,), "CELU": (8,), "Softplus": (8,), "Mish": (8,), "Hardswish": (8,),
    "Hardsigmoid": (8,), "LogSigmoid": (8,), "PReLU": (4, 3), "GLU": (8,),
    "RNN": (5, 4),
    "Embedding": (6,), "PositionalEmbedding": (6, 8), "MultiheadAttention": (6, 8),
    "TransformerEncoderLayer": (6, 8), "SequencePool": (6, 8),
    "ZeroPad2d": (3, 5, 5), "ReflectionPad2d": (3, 5, 5), "Upsample": (3, 4, 4), "PixelShuffle": (8, 3, 3),
    "Permute": (6, 8),
}


def sample_batch(name: str, shape, batch: int = 2) -> torch.Tensor:
    """A batch a layer of type *name* accepts: token ids (as float32) for an Embedding, else noise."""
    if name == "Embedding":
        return torch.randint(0, 50, (batch, *shape)).to(torch.float32)
    return torch.randn(batch, *shape)

REQUIRED = set(SAMPLE_INPUT)


def test_catalog_has_every_required_type():
    assert REQUIRED <= set(layer_names())
    assert len(layer_names()) >= 55


def test_every_type_has_a_sample_input():
    # A new layer type must say here what it accepts, so the tests below cover it.
    assert set(layer_names()) <= set(SAMPLE_INPUT)


@pytest.mark.parametrize("name", layer_names())
def test_schema_is_complete(name):
    layer_type = get_layer_type(name)
    assert layer_type.category in CATEGORIES
    assert layer_type.doc.endswith(".")
    # Layer names are PyTorch class names, but for NetStudio's own few (in core/design/modules.py).
    assert hasattr(torch.nn, name) != layer_type.own, f"{name}: own={layer_type.own}"
    for param in layer_type.params:
        assert param.doc, f"{name}.{param.name} has no doc"
        assert param.check(param.default) is None


@pytest.mark.parametrize("name", layer_names())
def test_config_round_trip(name):
    spec = LayerSpec.create(name)
    config = spec.get_config()
    again = LayerSpec.from_config(config)
    assert again.get_config() == config
    assert again == spec


@pytest.mark.parametrize("name", layer_names())
def test_builds_and_forward_shape_matches(name):
    shape = SAMPLE_INPUT[name]
    stack = LayerStack([LayerSpec.create(name)])
    validation = stack.validate(shape)
    assert validation.valid, validation.first_error()
    model = build_model(stack, shape, seed=0)
    model.eval()
    out = model(sample_batch(name, shape))
    assert tuple(out.shape[1:]) == validation.output_shape
    assert sum(p.numel() for p in model.parameters()) == validation.total_parameters


@pytest.mark.parametrize("name", layer_names())
def test_describe_is_short_text(name):
    layer_type = get_layer_type(name)
    text = layer_type.describe(layer_type.defaults())
    assert isinstance(text, str) and len(text) < 40


def test_duplicate_registration_is_refused():
    existing = get_layer_type("ReLU")
    with pytest.raises(ValueError, match="already registered"):
        register(LayerType(name="ReLU", category="Activation", doc="x.", params=(), shape_fn=lambda s, p: s, prefix="r"))
    assert get_layer_type("ReLU") is existing


def test_unknown_type_suggests_close_names():
    with pytest.raises(KeyError, match="Conv2d"):
        get_layer_type("Conv2D")


def test_inferred_sizes_are_reported():
    stack = LayerStack([LayerSpec.create("Conv2d", out_channels=8), LayerSpec.create("Flatten"),
                        LayerSpec.create("Linear", out_features=10)])
    v = stack.validate((3, 10, 10))
    assert v.layers[0].params["in_channels"] == 3
    assert v.layers[2].params["in_features"] == 8 * 8 * 8
    assert v.output_shape == (10,)


def test_auto_output_width_follows_the_data():
    stack = LayerStack([LayerSpec.create("Linear", out_features=16), LayerSpec.create("ReLU"),
                        LayerSpec.create("Linear", out_features="auto"), LayerSpec.create("Softmax")])
    assert stack.validate((4,), output_width=3).output_shape == (3,)
    assert stack.validate((4,), output_width=3).layers[2].params["out_features"] == 3
    unknown = stack.validate((4,))
    assert unknown.output_shape == (1,) and unknown.layers[2].params["out_features"] == "auto"


def test_module_names_are_readable():
    stack = LayerStack([LayerSpec.create(n) for n in ("Conv2d", "ReLU", "Conv2d", "ReLU", "Flatten", "Linear")])
    assert module_names(stack) == ["conv1", "relu1", "conv2", "relu2", "flatten1", "fc1"]
    model = build_model(stack, (1, 12, 12), seed=0)
    assert [name for name, _ in model.named_children()] == module_names(stack)


def test_seeded_build_is_reproducible_and_leaves_global_rng_alone():
    stack = LayerStack([LayerSpec.create("Linear", out_features=5), LayerSpec.create("Linear", out_features=1)])
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_model(stack, (10,), seed=7)
    after = torch.rand(1)
    b = build_model(stack, (10,), seed=7)
    assert before == after
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_recurrent_last_step_and_sequence():
    seq = LayerStack([LayerSpec.create("LSTM", hidden_size=6, bidirectional=True, return_sequences=True),
                      LayerSpec.create("GRU", hidden_size=3, num_layers=2)])
    v = seq.validate((7, 4))
    assert v.layers[0].output_shape == (7, 12) and v.output_shape == (3,)
    out = build_model(seq, (7, 4), seed=0)(torch.randn(2, 7, 4))
    assert out.shape == (2, 3)
    assert math.prod(out.shape) == 6


def test_docs_layer_reference_is_up_to_date():
    from pathlib import Path

    from netstudio.core.design.report import reference_markdown

    path = Path(__file__).resolve().parents[2] / "docs" / "layers.md"
    assert path.read_text(encoding="utf-8") == reference_markdown(), "regenerate docs/layers.md (command in its header)"
    for name in layer_names():
        assert f"**{name}**" in reference_markdown()
