"""Every export format of real trained models (MLP on a CSV, CNN, LSTM, GRU, regression), loaded in
a fresh interpreter where NetStudio cannot be imported, against the trained model on raw inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from netstudio.core.export.common import FORMATS, SUFFIXES
from netstudio.core.export.exporter import export_run
from tests.core.test_export_support import (
    CNN,
    GRU,
    LSTM,
    MLP,
    close,
    reference_outputs,
    run_isolated,
    train_run,
    write_pictures,
    write_prices,
    write_sequences,
    write_table,
)

# The module fixture (a trained run) is built once: every test of this file runs in the same
# xdist process.
pytestmark = pytest.mark.xdist_group("test_export")

FAMILIES = {
    "table": lambda d: ({"source": "csv", "path": str(write_table(d / "table.csv")), "target": "label"}, MLP),
    "cnn": lambda d: ({"source": "npz", "path": str(write_pictures(d / "pictures.npz"))}, CNN),
    "lstm": lambda d: ({"source": "npz", "path": str(write_sequences(d / "seq.npz"))}, LSTM),
    "gru": lambda d: ({"source": "npz", "path": str(write_sequences(d / "seq.npz"))}, GRU),
    "regression": lambda d: ({"source": "csv", "path": str(write_prices(d / "prices.csv")), "target": "price"},
                             MLP),
}

LOAD_EVERY_FORMAT = '''
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from safetensors import safe_open
from safetensors.torch import load_file

folder = Path(".")
raw = np.load("raw.npy")
outputs, metadata = {}, {}


def record(name, fn):
    outputs[name] = fn(raw)
    outputs[name + "/one-by-one"] = np.concatenate([fn(raw[i:i + 1]) for i in range(len(raw))])


def torch_fn(module):
    def call(x):
        with torch.no_grad():
            return module(torch.from_numpy(x)).numpy()
    return call


for name in ("model.pt2", "run/model.pt2"):
    extra = {"netstudio.json": ""}
    record(name, torch_fn(torch.export.load(name, extra_files=extra).module()))
    metadata[name] = json.loads(extra["netstudio.json"])

extra = {"netstudio.json": ""}
record("model.pt", torch_fn(torch.jit.load("model.pt", _extra_files=extra)))
metadata["model.pt"] = json.loads(extra["netstudio.json"])

for name in ("model.onnx",):
    session = ort.InferenceSession(name, providers=["CPUExecutionProvider"])
    assert [i.shape[0] for i in session.get_inputs()] == ["batch"], session.get_inputs()[0].shape
    record(name, lambda x, s=session: s.run(None, {"input": x})[0])
    metadata[name] = json.loads(session.get_modelmeta().custom_metadata_map["netstudio"])

import sys
sys.path.insert(0, "python")
import model as generated

record("python", torch_fn(generated.load_model()))
with safe_open("model.safetensors", "pt") as handle:
    metadata["model.safetensors"] = json.loads(handle.metadata()["netstudio"])
plain = generated.Model()
plain.load_state_dict(load_file("model.safetensors"), strict=True)
record("model.safetensors", torch_fn(plain.eval()))
metadata["python"] = json.loads(Path("python/metadata.json").read_text())

np.savez("outputs.npz", **outputs)
Path("metadata.json").write_text(json.dumps(metadata))
'''


@pytest.fixture(scope="module", params=list(FAMILIES))
def exported(request, tmp_path_factory):
    """A trained run of one family, exported to every format, and the raw inputs to check on."""
    folder = tmp_path_factory.mktemp(request.param)
    data, layers = FAMILIES[request.param](folder)
    run = train_run(folder, request.param, data, layers)
    out = folder / "exports"
    out.mkdir()
    results = {fmt: export_run(run, fmt, out / ("python" if fmt == "python" else "model" + SUFFIXES[fmt]))
               for fmt in FORMATS}
    raw = raw_rows(run, data)
    np.save(out / "raw.npy", raw)
    (out / "run").symlink_to(run)
    return request.param, run, out, raw, results


def raw_rows(run, data):
    """Real raw rows of the training file (missing values kept), plus one all-missing row."""
    from netstudio.core.data.csv import read_table
    from netstudio.core.runs.folder import load_run

    pre = load_run(run).preprocessor()
    if data["source"] == "csv":
        frame, _ = read_table(Path(data["path"]))
        raw = pre.encode_frame(frame.iloc[:40])
    else:
        raw = np.load(data["path"])["X"][:40].astype(np.float32)
    assert np.isnan(raw).any() or data["source"] == "npz"
    return np.concatenate([raw, np.full((1, *raw.shape[1:]), np.nan, dtype=np.float32)])


def test_every_format_loads_without_netstudio_and_agrees_with_the_trained_model(exported):
    family, run, out, raw, _ = exported
    run_isolated(LOAD_EVERY_FORMAT, cwd=out)
    expected = reference_outputs(run, raw)
    outputs = np.load(out / "outputs.npz")
    names = {"model.pt2", "run/model.pt2", "model.pt", "model.onnx", "python", "model.safetensors"}
    assert {n.split("/one-by-one")[0] for n in outputs.files} == names
    for name in outputs.files:
        close(outputs[name], expected)
    if family == "regression":
        assert expected.shape == (len(raw), 1) and expected.mean() > 500  # in the target's units (prices)
    else:
        classes = json.loads((run / "metadata.json").read_text())["classes"]
        assert expected.shape == (len(raw), len(classes))  # two columns for a binary task
        np.testing.assert_allclose(expected.sum(axis=1), 1.0, atol=1e-5)
        assert np.isfinite(expected).all()


def test_every_file_carries_the_metadata(exported):
    family, run, out, raw, _ = exported
    if not (out / "metadata.json").exists():
        run_isolated(LOAD_EVERY_FORMAT, cwd=out)
    docs = json.loads((out / "metadata.json").read_text())
    trained = json.loads((run / "metadata.json").read_text())
    for name, doc in docs.items():
        assert doc["format"] == "netstudio-model", name
        for key in ("netstudio_version", "torch_version", "task", "classes", "feature_names", "input_shape",
                    "preprocessing", "layers", "raw_input"):
            assert doc[key] == trained[key], (name, key)
        assert doc["preprocessing"]["fill"] and doc["preprocessing"]["mean"] and doc["preprocessing"]["std"]
    for name in ("model.onnx",):
        assert isinstance(docs[name]["opset_version"], int) and docs[name]["opset_version"] >= 17
    assert docs["model.pt2"]["export"]["format"] == "pt2" and docs["model.pt"]["export"]["format"] == "torchscript"
    if family == "table":
        assert trained["feature_names"][:2] == ["size", "weight"]
        assert "colour=red" in trained["feature_names"] and "member" in trained["feature_names"]


def test_export_reports_the_parity_it_checked(exported):
    family, run, _, raw, results = exported
    # Values in a regression target's units (thousands here) are float32: 1e-4 relative to them.
    scale = max(1.0, float(np.abs(reference_outputs(run, raw)).max())) if family == "regression" else 1.0
    for fmt, result in results.items():
        assert result.format == fmt and result.path.exists()
        assert result.parity_max_abs_diff is not None and 0 <= result.parity_max_abs_diff <= 1e-4 * scale, fmt
    assert {p.name for p in results["python"].files} >= {"model.py", "weights.safetensors", "train.py",
                                                        "metadata.json", "README.txt"}


def test_predicted_numbers_are_short_and_read_back_as_the_same_float32():
    from netstudio.core.export.predict import prediction_table

    outputs = np.array([[1 - 6e-19, 6e-19], [0.25, 0.75], [0.99999, 1e-5]], dtype=np.float32)
    table = prediction_table({"task": "binary", "classes": ["no", "yes"]}, outputs)
    assert table.rows == [["no", "1", "6e-19"], ["yes", "0.25", "0.75"], ["no", "0.99999", "1e-05"]]
    values = np.array([[350000.0], [1e20], [-2.5e-7], [0.0]], dtype=np.float32)
    texts = [row[0] for row in prediction_table({"task": "regression"}, values).rows]
    assert texts == ["350000", "1e+20", "-2.5e-07", "0"]
    assert [np.float32(float(t)) for t in texts] == list(values[:, 0])
