"""A trained text model travels with its tokenizer: run folder, .pt2, ONNX (int64 token ids in),
the python export's encode_text(), and predict on raw text."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import torch

from netstudio.core.export.exporter import export_run
from netstudio.core.export.predict import predict_file
from netstudio.core.export.safe_load import load_model_file
from netstudio.core.runs.folder import load_run
from tests.core.test_export_support import reference_outputs, train_run
from tests.core.test_text import reviews

LAYERS = [
    {"type": "Embedding", "params": {"embedding_dim": 8}},
    {"type": "PositionalEmbedding", "params": {}},
    {"type": "TransformerEncoderLayer", "params": {"nhead": 2, "dim_feedforward": 16}},
    {"type": "SequencePool", "params": {"mode": "mean"}},
    {"type": "Linear", "params": {"out_features": "auto"}},
]


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text-run")
    reviews(80).to_csv(folder / "reviews.csv", index=False)
    data = {"source": "csv", "path": "reviews.csv", "target": "label", "text": "review",
            "tokenizer": {"kind": "wordpiece", "vocab_size": 200, "max_length": 12}}
    run = train_run(folder, "reviews", data, LAYERS, {"epochs": 2, "batch_size": 16}, onnx=True)
    return folder, run


def ids_of(run_dir, texts) -> np.ndarray:
    return load_run(run_dir).preprocessor().encoder.encode(texts)


def test_the_run_holds_the_tokenizer_as_its_own_json(text_run):
    _, run = text_run
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(run / "tokenizer.json"))
    pre = load_run(run).preprocessor()
    assert tokenizer.get_vocab() == pre.encoder.tokenizer.get_vocab()
    assert load_run(run).metadata["vocabulary"] == tokenizer.get_vocab_size()
    assert "pickle" not in (run / "tokenizer.json").read_text()


def test_pt2_and_onnx_agree_with_the_trained_model_on_token_ids(text_run):
    folder, run = text_run
    ids = ids_of(run, reviews(40, seed=1)["review"].tolist())
    expected = reference_outputs(run, ids.astype(np.float32))
    program = torch.export.load(run / "model.pt2").module()
    with torch.no_grad():
        pt2 = program(torch.from_numpy(ids)).numpy()
    session = ort.InferenceSession(str(run / "model.onnx"), providers=["CPUExecutionProvider"])
    onnx_input = session.get_inputs()[0]
    assert onnx_input.type == "tensor(int64)"
    onnx = session.run(None, {onnx_input.name: ids})[0]
    np.testing.assert_allclose(pt2, expected, atol=1e-4)
    np.testing.assert_allclose(onnx, expected, atol=1e-4)
    meta = json.loads(session.get_modelmeta().custom_metadata_map["netstudio"])
    assert meta["raw_input"]["dtype"] == "int64" and meta["preprocessing"]["text"]["tokenizer"]
    assert "tokenizer.json" in session.get_modelmeta().custom_metadata_map


def test_predict_on_raw_text_equals_the_model_on_the_encoded_ids(text_run, tmp_path):
    folder, run = text_run
    frame = reviews(30, seed=2)[["review"]]  # only the text column, as a user would have it
    frame.to_csv(tmp_path / "new.csv", index=False)
    expected = reference_outputs(run, ids_of(run, frame["review"].tolist()).astype(np.float32))
    for name in ("model.pt2", "model.onnx"):
        table = predict_file(run / name, tmp_path / "new.csv")
        probs = np.array([[float(v) for v in row[1:]] for row in table.rows])
        np.testing.assert_allclose(probs, expected, atol=1e-4)
        assert [row[0] for row in table.rows] == [["neg", "pos"][k] for k in expected.argmax(axis=1)]
    # the loaded file applies exactly the training tokenizer to raw text
    loaded = load_model_file(run / "model.pt2")
    assert loaded.metadata["preprocessing"]["text"]["column"] == "review"


def test_python_export_has_encode_text(text_run, tmp_path):
    _, run = text_run
    out = tmp_path / "python"
    export_run(run, "python", out)
    assert (out / "tokenizer.json").is_file()
    assert "def encode_text(texts)" in (out / "model.py").read_text()
    for rules in ([], ["--select", "E,F,W,I,B,UP", "--line-length", "100"]):  # readable, as the other exports
        result = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", *rules, "model.py",
                                 "model_inputs.py", "train.py"], cwd=out, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
    texts = reviews(6, seed=3)["review"].tolist()
    code = ("import json, sys, torch; sys.path.insert(0, sys.argv[1]); "
            "from model import load_model, encode_text; "
            "x = torch.from_numpy(encode_text(json.loads(sys.argv[2]))); "
            "print(json.dumps({'dtype': str(x.dtype), 'ids': x.tolist(), 'out': load_model()(x).tolist()}))")
    result = subprocess.run([sys.executable, "-c", code, str(out), json.dumps(texts)], capture_output=True,
                            text=True, check=True, cwd=tmp_path)
    doc = json.loads(result.stdout)
    ids = ids_of(run, texts)
    assert doc["dtype"] == "torch.int64" and np.array_equal(np.array(doc["ids"]), ids)
    np.testing.assert_allclose(np.array(doc["out"]), reference_outputs(run, ids.astype(np.float32)), atol=1e-4)


def test_predict_names_a_missing_text_column(text_run, tmp_path):
    from netstudio.core.errors import DataError

    _, run = text_run
    pd.DataFrame({"other": ["a b c", "d e f"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match="review"):
        predict_file(run / "model.pt2", tmp_path / "bad.csv")
