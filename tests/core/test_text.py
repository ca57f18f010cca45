"""Text columns: the tokenizer is fitted on the training rows only, ids are deterministic, the
design is checked against token ids (an Embedding first, its vocabulary from the tokenizer)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from netstudio.core.data.load import load_dataset
from netstudio.core.data.model_inputs import PAD_ID
from netstudio.core.data.preprocess import Preprocessor
from netstudio.core.data.text import (
    UNK_ID,
    fit_tokenizer,
    length_stats,
    looks_like_text,
    suggested_max_length,
)
from netstudio.core.design.catalog.sequence import TEXT_PADDING_ID
from netstudio.core.design.stack import LayerSpec, LayerStack


def reviews(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    good, bad = ["great", "lovely", "superb"], ["awful", "boring", "dull"]
    rows = []
    for i in range(n):
        positive = i % 2 == 0
        word = rng.choice(good if positive else bad)
        rows.append({"review": f"The film x{rng.integers(60)} was {word} and the y{rng.integers(60)} plot",
                     "stars": float(rng.integers(1, 6)), "label": "pos" if positive else "neg"})
    return pd.DataFrame(rows)


@pytest.fixture
def review_csv(tmp_path):
    path = tmp_path / "reviews.csv"
    reviews().to_csv(path, index=False)
    return path


def section(path, **extra) -> dict:
    return {"source": "csv", "path": str(path), "target": "label", "text": "review", **extra}


def test_text_column_becomes_padded_token_ids(review_csv):
    data = load_dataset(section(review_csv, tokenizer={"kind": "word", "max_length": 12}), review_csv.parent)
    assert data.input_shape == (12,)
    assert data.X_train.dtype == np.float32  # ids are exact in float32; int64 only at the model's input
    assert data.preprocessor.kind == "text"
    assert data.vocabulary == data.preprocessor.encoder.vocabulary
    # "the film xN was W and the yN plot" is 9 words: padding after them
    assert (data.X_train[:, 9:] == PAD_ID).all() and (data.X_train[:, :9] != PAD_ID).all()
    text = data.summary.text
    assert text["vocabulary"] == data.vocabulary and text["lengths"]["max"] == 9
    assert text["example"]["tokens"][:2] == ["the", "film"]  # lower-cased
    assert text["lengths"]["suggested_max_length"] == 16


def test_word_only_in_validation_rows_is_unknown(tmp_path):
    frame = reviews()
    data_config = section(tmp_path / "r.csv", tokenizer={"kind": "word", "max_length": 12})
    frame.to_csv(tmp_path / "r.csv", index=False)
    first = load_dataset(data_config, tmp_path)
    # put a new word into exactly the validation rows: the tokenizer must not know it
    val_rows = np.setdiff1d(np.arange(len(frame)), _train_rows(first, frame))
    frame.loc[val_rows, "review"] = frame.loc[val_rows, "review"] + " zyzzyva"
    frame.to_csv(tmp_path / "r.csv", index=False)
    data = load_dataset(data_config, tmp_path)
    encoder = data.preprocessor.encoder
    assert "zyzzyva" not in encoder.tokenizer.get_vocab()
    assert (data.X_val[:, 9] == UNK_ID).all()
    assert encoder.encode(["zyzzyva"])[0, 0] == UNK_ID


def test_subword_tokenizers_map_unseen_characters_to_unknown(tmp_path):
    for kind in ("wordpiece", "bpe"):
        doc = fit_tokenizer(reviews()["review"], kind, 300, True)
        pre = _text_preprocessor(doc, kind)
        ids = pre.encoder.encode(["the film \u263a"])[0]
        assert ids[2] == UNK_ID and ids[0] != UNK_ID, kind
        assert doc["model"]["vocab"]["[PAD]"] == 0 and doc["model"]["vocab"]["[UNK]"] == 1


def _train_rows(data, frame) -> np.ndarray:
    encoded = data.preprocessor.encoder.encode(frame["review"].tolist()).astype(np.float32)
    return np.array([i for i, row in enumerate(encoded) if (data.X_train == row).all(axis=1).any()])


def _text_preprocessor(doc: dict, kind: str) -> Preprocessor:
    return Preprocessor("text", (8,), "binary", ["neg", "pos"], stat_shape=(1,), fill=[0.0], mean=[0.0], std=[1.0],
                        text={"column": "review", "kind": kind, "vocab_size": 300, "max_length": 8,
                              "lowercase": True, "tokenizer": doc})


def test_same_text_same_ids_after_a_json_round_trip(review_csv):
    data = load_dataset(section(review_csv), review_csv.parent)
    pre = data.preprocessor
    again = Preprocessor.from_json(json.loads(json.dumps(pre.to_json())))
    frame = pd.read_csv(review_csv)
    assert np.array_equal(again.encode_frame(frame), pre.encode_frame(frame))
    assert pre.raw_input()["dtype"] == "int64"
    assert again.encode_text_frame(frame).dtype == np.int64


@pytest.mark.parametrize("kind", ["wordpiece", "bpe", "word"])
def test_fitting_is_deterministic_across_processes(kind):
    # the trainers' own id order changes from one process to the next (hash maps): renumbered here
    code = ("import json, sys; from tests.core.test_text import reviews; "
            "from netstudio.core.data.text import fit_tokenizer; "
            f"print(json.dumps(fit_tokenizer(reviews()['review'], {kind!r}, 120, True)['model']['vocab']))")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
               for _ in range(3)}
    assert len(outputs) == 1
    vocab = json.loads(outputs.pop())
    assert vocab == fit_tokenizer(reviews()["review"], kind, 120, True)["model"]["vocab"]


def test_text_is_detected_only_when_nothing_else_is_usable(tmp_path):
    frame = reviews()
    frame.to_csv(tmp_path / "with_stars.csv", index=False)
    table = load_dataset({"source": "csv", "path": "with_stars.csv", "target": "label"}, tmp_path)
    assert table.preprocessor.kind == "tabular"  # like Titanic's Name: a usable column wins
    frame.drop(columns="stars").to_csv(tmp_path / "only_text.csv", index=False)
    text = load_dataset({"source": "csv", "path": "only_text.csv", "target": "label"}, tmp_path)
    assert text.preprocessor.kind == "text"
    assert any("read as free text" in n for n in text.summary.notes)
    assert looks_like_text(frame["review"]) and not looks_like_text(frame["label"])


def test_length_statistics_suggest_a_max_length():
    stats = length_stats(np.array([3, 5, 7, 9, 40]), max_length=8)
    assert stats["max"] == 40 and stats["truncated_share"] == 0.4
    assert suggested_max_length(1) == 8 and suggested_max_length(17.2) == 24


def test_text_input_needs_an_embedding_first_with_a_fix():
    stack = LayerStack([LayerSpec.create("Linear", out_features=4)])
    validation = stack.validate((16,), 2, vocabulary=500)
    issue = validation.layers[0].issues[0]
    assert not validation.valid and "text input needs an Embedding first" in issue.message
    assert issue.fix.op == "insert" and issue.fix.layer["type"] == "Embedding"
    assert stack.validate((16,), 2).valid  # the same design on numbers is fine


def test_embedding_takes_its_vocabulary_from_the_tokenizer():
    stack = LayerStack([LayerSpec.create("Embedding", embedding_dim=8), LayerSpec.create("SequencePool"),
                        LayerSpec.create("Linear", out_features="auto")])
    validation = stack.validate((16,), 2, vocabulary=321)
    assert validation.valid
    params = validation.layers[0].params
    assert params["num_embeddings"] == 321 and params["padding_idx"] == TEXT_PADDING_ID == PAD_ID
    assert validation.layers[0].parameters == 321 * 8
