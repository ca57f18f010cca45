"""Every layer type added with the catalog's growth (issue 19) exports to every format: .pt2,
TorchScript, ONNX (checked in onnxruntime to 1e-4 by the writer), safetensors, and the python
export's model.py, which must import no NetStudio and reproduce the layer."""

from __future__ import annotations

import pytest
import torch

from netstudio.core.design.builder import build_model
from netstudio.core.design.layers import get_layer_type
from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.export import formats
from netstudio.core.export.code import model_source
from netstudio.core.export.common import METADATA_KEY
from netstudio.core.export.exporter import export_metadata
from netstudio.core.export.model import ExportedModel, OutputTransform
from netstudio.core.export.python import check_folder
from tests.core.test_layers import SAMPLE_INPUT, sample_batch

#: The 34 types the catalog gained, each with settings that exercise it beyond its defaults.
NEW_LAYERS = {
    "Dropout1d": {}, "Dropout2d": {}, "AlphaDropout": {},
    "Conv3d": {"out_channels": 4, "padding": 1}, "ConvTranspose1d": {"out_channels": 4, "stride": 2},
    "MaxPool3d": {}, "AvgPool3d": {}, "AdaptiveAvgPool1d": {"output_size": 3}, "AdaptiveMaxPool1d": {"output_size": 3},
    "AdaptiveMaxPool2d": {},
    "InstanceNorm1d": {"affine": True}, "InstanceNorm2d": {}, "RMSNorm": {"normalized_dims": 2},
    "ReLU6": {}, "SELU": {}, "CELU": {"alpha": 0.5}, "Softplus": {"beta": 2.0}, "Mish": {}, "Hardswish": {},
    "Hardsigmoid": {}, "LogSigmoid": {}, "PReLU": {"num_parameters": 4}, "GLU": {},
    "RNN": {"hidden_size": 6, "nonlinearity": "relu", "return_sequences": True},
    "Embedding": {"num_embeddings": 50, "embedding_dim": 8, "padding_idx": 0}, "PositionalEmbedding": {},
    "MultiheadAttention": {"num_heads": 2}, "TransformerEncoderLayer": {"dim_feedforward": 16, "activation": "gelu"},
    "SequencePool": {"mode": "max"},
    "ZeroPad2d": {"padding": [1, 0, 2, 1]}, "ReflectionPad2d": {}, "Upsample": {"mode": "bilinear"},
    "PixelShuffle": {}, "Permute": {},
}


def test_every_new_type_is_covered():
    assert len(NEW_LAYERS) == 34
    assert all(get_layer_type(name) for name in NEW_LAYERS)


def exported(name: str):
    shape = SAMPLE_INPUT[name]
    stack = LayerStack([LayerSpec.create(name, **NEW_LAYERS[name])])
    net = build_model(stack, shape, seed=0)
    with torch.no_grad():  # non-trivial weights: a norm's scale of 1 would hide a misplaced one
        for p in net.parameters():
            p.add_(torch.rand_like(p) * 0.1)
    for p in net.parameters():
        p.requires_grad_(False)
    model = ExportedModel(net.eval(), None, OutputTransform("identity", "multiclass"), shape, [name]).eval()
    torch.manual_seed(1)
    inputs = sample_batch(name, shape, batch=5).numpy()
    metadata = {"name": name, "task": "multiclass", "classes": ["a", "b"], "input_shape": list(shape),
                "output_transform": "identity", "preprocessing": None, "layers": [spec.get_config() for spec in stack],
                "torch_version": torch.__version__}
    return model, metadata, inputs


@pytest.mark.parametrize("name", list(NEW_LAYERS))
def test_new_layer_exports_to_every_format(name, tmp_path):
    model, metadata, inputs = exported(name)
    for fmt, writer in (("pt2", formats.write_pt2), ("torchscript", formats.write_torchscript),
                        ("onnx", formats.write_onnx), ("safetensors", formats.write_safetensors)):
        result = writer(model, export_metadata(metadata, fmt), tmp_path / f"model.{fmt}", inputs)
        assert result.parity_max_abs_diff is not None and result.parity_max_abs_diff <= 1e-4, (fmt, result)
    folder = tmp_path / "python"
    folder.mkdir()
    source = model_source(model, export_metadata(metadata, "python"), None)
    assert "netstudio" not in source.split('"""', 2)[2].lower().replace("netstudio model", "")
    (folder / "model.py").write_text(source, encoding="utf-8")
    from safetensors.torch import save_file

    save_file(formats.state_tensors(model), str(folder / "weights.safetensors"), metadata={METADATA_KEY: "{}"})
    assert check_folder(model, folder, inputs) <= 1e-4
