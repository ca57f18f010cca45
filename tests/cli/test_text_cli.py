"""``netstudio summary / train / predict`` on a CSV of free text, in subprocesses."""

from __future__ import annotations

import csv
import io
import json

from tests.core.test_export_support import netstudio, one_line_error, write_project
from tests.core.test_text import reviews
from tests.core.test_text_export import LAYERS


def test_train_and_predict_a_text_csv(tmp_path):
    reviews(80).to_csv(tmp_path / "reviews.csv", index=False)
    data = {"source": "csv", "path": "reviews.csv", "target": "label", "text": "review",
            "tokenizer": {"kind": "word", "max_length": 12}}
    project = write_project(tmp_path, "reviews", data, LAYERS, {"epochs": 2})
    summary = netstudio("summary", project, "--json")
    assert summary.returncode == 0, summary.stderr
    first = json.loads(summary.stdout)["layers"][0]
    assert first["params"]["padding_idx"] == 0 and first["params"]["num_embeddings"] > 2
    trained = netstudio("train", project, "--out", tmp_path / "run", "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert (tmp_path / "run" / "tokenizer.json").is_file() and (tmp_path / "run" / "model.pt2").is_file()
    reviews(5, seed=4)[["review"]].to_csv(tmp_path / "new.csv", index=False)
    predicted = netstudio("predict", tmp_path / "run" / "model.pt2", tmp_path / "new.csv")
    assert predicted.returncode == 0, predicted.stderr
    rows = list(csv.reader(io.StringIO(predicted.stdout)))
    assert rows[0] == ["prediction", "prob_neg", "prob_pos"] and len(rows) == 6


def test_a_table_model_on_text_says_what_is_missing(tmp_path):
    reviews(40).to_csv(tmp_path / "reviews.csv", index=False)
    data = {"source": "csv", "path": "reviews.csv", "target": "label", "text": "review"}
    project = write_project(tmp_path, "linear", data, [{"type": "Linear", "params": {"out_features": "auto"}}])
    summary = netstudio("summary", project)
    assert summary.returncode == 0 and "text input needs an Embedding first" in summary.stdout
    one_line_error(netstudio("train", project, "--out", tmp_path / "run"), "text input needs an Embedding first")
