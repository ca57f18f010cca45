"""Export failures: a layer a format cannot express is named, a failed check leaves nothing behind."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from netstudio.core.errors import ExportError
from netstudio.core.export import formats as export_formats
from netstudio.core.export.common import check_format
from netstudio.core.export.exporter import default_export_path, export_model, sample_inputs
from netstudio.core.export.model import build_exported_model

METADATA = {"format": "netstudio-model", "name": "tiny", "task": "binary", "classes": ["no", "yes"],
            "feature_names": ["a", "b", "c"], "input_shape": [3], "output_width": 1,
            "output_transform": "sigmoid", "preprocessing": None, "raw_input": None,
            "layers": [{"type": "Linear", "params": {}}, {"type": "Branchy", "params": {}},
                       {"type": "Linear", "params": {}}]}


class Branchy(nn.Module):
    """Data-dependent control flow: neither torch.export nor ONNX can express it as one graph."""

    def forward(self, x):
        if x.sum() > 0:
            return x * 2
        return -x


class BatchDependent(nn.Module):
    """Python code reading the batch size: a trace bakes in the example's branch."""

    def forward(self, x):
        return x * 2 if x.shape[0] > 1 else -x


def _model(middle=None):
    torch.manual_seed(0)
    net = nn.Sequential()
    net.add_module("fc1", nn.Linear(3, 4))
    net.add_module("branchy1", middle or Branchy())
    net.add_module("fc2", nn.Linear(4, 1))
    return build_exported_model(net, METADATA)


@pytest.mark.parametrize("fmt, label", [("pt2", "torch.export (.pt2)"), ("onnx", "ONNX")])
def test_a_layer_the_format_cannot_express_is_named(tmp_path, fmt, label):
    target = tmp_path / f"model.{fmt}"
    with pytest.raises(ExportError) as info:
        export_model(_model(), METADATA, fmt, target)
    message = str(info.value)
    assert message.startswith(f"the {label} export cannot handle layer branchy1 (Branchy): "), message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_a_trace_that_does_not_generalise_fails_the_parity_check(tmp_path):
    with pytest.raises(ExportError, match="TorchScript file.*disagrees with the trained model"):
        export_model(_model(BatchDependent()), METADATA, "torchscript", tmp_path / "model.pt")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["pt2", "torchscript", "onnx", "safetensors", "python"])
def test_a_failed_check_keeps_the_previous_file_and_leaves_no_temporary_files(tmp_path, monkeypatch, fmt):
    def disagree(expected, actual, what):
        raise ExportError(f"{what} disagrees with the trained model")

    monkeypatch.setattr(export_formats, "parity_check", disagree)
    monkeypatch.setattr("netstudio.core.export.python.parity_check", disagree)
    net = nn.Sequential()
    net.add_module("fc1", nn.Linear(3, 1))
    metadata = dict(METADATA, layers=[{"type": "Linear", "params": {}}])
    target = tmp_path / ("python" if fmt == "python" else "model.bin")
    if fmt != "python":
        target.write_bytes(b"previous")
    project = _project() if fmt == "python" else None
    with pytest.raises(ExportError, match="disagrees"):
        export_model(build_exported_model(net, metadata), metadata, fmt, target, project=project)
    if fmt == "python":
        assert list(tmp_path.iterdir()) == []
    else:
        assert [p.name for p in tmp_path.iterdir()] == ["model.bin"] and target.read_bytes() == b"previous"


def _project():
    from netstudio.core.project import project_from_json

    return project_from_json({"format": "netstudio-project", "version": 1, "name": "tiny",
                              "data": {"source": "synthetic", "kind": "moons"},
                              "model": {"layers": [{"type": "Linear", "params": {"out_features": "auto"}}]},
                              "training": {}})


def test_sample_inputs_mix_real_rows_and_random_rows_with_missing_values():
    pre = {"kind": "tabular", "stat_shape": [4], "mean": [10.0, 0.0, 0.3, 0.3], "std": [2.0, 1.0, 0.5, 0.5],
           "fill": [10.0, 0.5, 0.3, 0.3], "divide_by": 1.0,
           "columns": [{"name": "size", "kind": "numeric"}, {"name": "member", "kind": "bool"},
                       {"name": "colour", "kind": "categorical", "categories": ["blue", "red"]}]}
    real = np.arange(8, dtype=np.float32).reshape(2, 4)
    x = sample_inputs({"preprocessing": pre}, (4,), n=200, real=real)
    assert x.shape == (202, 4) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:2], real)
    random = x[2:]
    assert np.isnan(random[0]).all() and 0.05 < np.isnan(random[1:]).mean() < 0.2
    assert set(np.unique(random[:, 1][~np.isnan(random[:, 1])])) == {0.0, 1.0}
    onehot = random[:, 2:]
    rows = ~np.isnan(onehot).any(axis=1)
    assert set(onehot[rows].sum(axis=1)) == {0.0, 1.0}  # one category, or none (unseen)
    pixels = sample_inputs({"preprocessing": {"kind": "images"}}, (1, 4, 4), n=10)
    finite = pixels[np.isfinite(pixels)]
    assert finite.min() >= 0 and finite.max() <= 255 and np.isnan(pixels).any()


def test_formats_and_default_paths(tmp_path):
    assert check_format("onnx") == "onnx"
    with pytest.raises(ExportError, match="unknown export format 'keras'.*pt2, torchscript, onnx"):
        check_format("keras")
    assert default_export_path(tmp_path, "torchscript") == tmp_path / "model.pt"
    assert default_export_path(tmp_path, "python") == tmp_path / "python"
