"""``netstudio predict MODEL DATA`` in a subprocess: the CSV layout of the contract, raw rows with
missing values, images, regression, and the one-line errors."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from tests.core.test_export_support import (
    MLP,
    close,
    netstudio,
    one_line_error,
    run_without,
    write_prices,
    write_table,
)

# The module fixture (a trained run) is built once: every test that uses it runs in the same xdist
# process. The two tests that train their own model are not in the group, so that they run beside
# it on the other process instead of after it.
shares_the_table = pytest.mark.xdist_group("test_predict_cli")


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A 3-class model trained on every row of a CSV with missing values (no validation split, so
    the training arrays hold the file's rows in order), exported to .pt2, .pt and .onnx."""
    import torch

    from netstudio.core.design.losses import to_probabilities
    from netstudio.core.export.exporter import export_run, write_run_models
    from netstudio.core.project import load_project
    from netstudio.core.runs.folder import save_run
    from netstudio.core.training.session import prepare_session
    from tests.core.test_export_support import write_project

    folder = tmp_path_factory.mktemp("predict")
    data = write_table(folder / "table.csv", rows=120)
    project = write_project(folder, "table", {"source": "csv", "path": "table.csv", "target": "label",
                                              "validation_split": 0.0}, MLP)
    session = prepare_session(load_project(project))
    summary = session.fit()
    run = save_run(session, summary, folder / "run", write_models=write_run_models)
    export_run(run, "torchscript", folder / "model.pt")
    export_run(run, "onnx", folder / "model.onnx")
    session.model.eval()
    with torch.no_grad():  # what the network said about the rows it was trained on
        seen = to_probabilities(session.model(torch.from_numpy(session.dataset.X_train)), summary.output_transform)
    classes = session.dataset.classes
    return {"folder": folder, "data": data, "run": run, "classes": classes, "seen": seen.numpy(),
            "models": [run / "model.pt2", folder / "model.pt", folder / "model.onnx"]}


@shares_the_table
def test_csv_layout_follows_the_contract(table):
    result = netstudio("predict", table["models"][0], table["data"])
    assert result.returncode == 0, result.stderr
    rows = _rows(result.stdout)
    assert rows[0] == ["prediction"] + [f"prob_{c}" for c in table["classes"]] == [
        "prediction", "prob_high", "prob_low", "prob_mid"]
    assert len(rows) == 121
    probs = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert [row[0] for row in rows[1:]] == [table["classes"][k] for k in probs.argmax(axis=1)]


@shares_the_table
def test_raw_rows_with_missing_values_predict_as_at_training_time(table):
    text = table["data"].read_text()
    assert ",," in text and ",NA," in text  # missing numbers and categories in the raw file
    for model in table["models"]:
        result = netstudio("predict", model, table["data"])
        assert result.returncode == 0, result.stderr
        probs = np.array([[float(v) for v in row[1:]] for row in _rows(result.stdout)[1:]])
        close(probs, table["seen"])


@shares_the_table
def test_out_file_and_target_column_are_optional(table, tmp_path):
    lines = table["data"].read_text().splitlines()
    without_target = [",".join(line.split(",")[:-1]) for line in lines]
    reordered = tmp_path / "rows.csv"  # columns in another order, no target: matched by name
    reordered.write_text("\n".join(",".join(reversed(line.split(","))) for line in without_target) + "\n")
    out = tmp_path / "new folder" / "predictions.csv"  # made, as train --out makes its folder
    result = netstudio("predict", table["models"][2], reordered, "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    again = netstudio("predict", table["models"][2], table["data"])
    assert out.read_text() == again.stdout


@shares_the_table
def test_missing_columns_are_listed_in_one_line(table, tmp_path):
    partial = tmp_path / "partial.csv"
    partial.write_text("weight,member,label\n4.1,yes,low\n")
    result = netstudio("predict", table["models"][0], partial)
    one_line_error(result, "lacks 2 columns", "'size'", "'colour'")
    assert result.stdout == ""


@shares_the_table
def test_onnx_needs_onnxruntime(table):
    result = run_without(["onnxruntime"], ["predict", table["models"][2], table["data"]])
    one_line_error(result, "onnxruntime", "onnx extra")


@shares_the_table
def test_bad_inputs_exit_2(table, tmp_path):
    one_line_error(netstudio("predict", tmp_path / "none.pt2", table["data"]), "no such model file")
    one_line_error(netstudio("predict", table["models"][0], tmp_path / "none.csv"), "no such file")
    (tmp_path / "images").mkdir()
    one_line_error(netstudio("predict", table["models"][0], tmp_path / "images"), "not images")
    (tmp_path / "a-file").write_text("")
    one_line_error(netstudio("predict", table["models"][0], table["data"], "--out", tmp_path / "a-file" / "p.csv"),
                    "cannot write")


def test_regression_predicts_values_in_the_targets_units(tmp_path):
    from tests.core.test_export_support import reference_outputs, train_run

    data = write_prices(tmp_path / "prices.csv")
    run = train_run(tmp_path, "prices", {"source": "csv", "path": str(data), "target": "price"}, MLP,
                    {"epochs": 30}, onnx=True)
    result = netstudio("predict", run / "model.onnx", data)
    assert result.returncode == 0, result.stderr
    rows = _rows(result.stdout)
    assert rows[0] == ["prediction"]
    values = np.array([[float(row[0])] for row in rows[1:]])
    from netstudio.core.data.csv import read_table
    from netstudio.core.runs.folder import load_run

    raw = load_run(run).preprocessor().encode_frame(read_table(data)[0])
    close(values, reference_outputs(run, raw))
    prices = np.array([float(line.split(",")[-1]) for line in data.read_text().splitlines()[1:]])
    assert abs(values.mean() - prices.mean()) < 0.2 * prices.mean()  # thousands, not standardised units


def test_images_one_file_and_a_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, fill in (("dark", 40), ("light", 210)):
        (tmp_path / "shapes" / name).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(rng.normal(fill, 30, (10, 10, 3)), 0, 255).astype(np.uint8)
            image = Image.fromarray(pixels)
            (image.convert("RGBA") if i % 4 == 0 else image).save(tmp_path / "shapes" / name / f"{i:02d}.png")
    # Trained in-process (with model.onnx): this test is about predict, and train on images has
    # its command-line tests (test_resume.py trains images, test_export_cli.py train --onnx).
    from tests.core.test_export_support import train_run

    layers = [{"type": "Conv2d", "params": {"out_channels": 4, "padding": 1}}, {"type": "ReLU"},
              {"type": "MaxPool2d"}, {"type": "Flatten"}, {"type": "Linear", "params": {"out_features": "auto"}}]
    run = train_run(tmp_path, "shapes", {"source": "images", "path": "shapes"}, layers,
                    {"epochs": 8, "learning_rate": 0.01, "batch_size": 8}, onnx=True)
    assert (tmp_path / "shapes.nsproj").is_file()
    (tmp_path / "run").symlink_to(run)
    folder = netstudio("predict", tmp_path / "run" / "model.pt2", tmp_path / "shapes")
    assert folder.returncode == 0, folder.stderr
    rows = _rows(folder.stdout)
    assert rows[0] == ["prediction", "prob_dark", "prob_light", "file"]
    assert [row[3] for row in rows[1:]] == [f"{c}/{i:02d}.png" for c in ("dark", "light") for i in range(12)]
    assert sum(row[0] == row[3].split("/")[0] for row in rows[1:]) >= 20  # it learned something
    one = netstudio("predict", tmp_path / "run" / "model.onnx", tmp_path / "shapes" / "light" / "05.png")
    assert one.returncode == 0, one.stderr
    single = _rows(one.stdout)
    assert single[0] == rows[0] and single[1][3] == "05.png"
    close(np.array([float(v) for v in single[1][1:3]]), np.array([float(v) for v in rows[18][1:3]]))
    (tmp_path / "broken.png").write_bytes(b"not an image")
    one_line_error(netstudio("predict", tmp_path / "run" / "model.pt2", tmp_path / "broken.png"),
                    "cannot read the image")
    one_line_error(netstudio("predict", tmp_path / "run" / "model.pt2", tmp_path / "shapes.nsproj"),
                    "takes images")
    # In a folder, an unreadable image is skipped and named, as training skips it; the rest predict.
    (tmp_path / "shapes" / "dark" / "zz-broken.png").write_bytes(b"not an image")
    skipping = netstudio("predict", tmp_path / "run" / "model.pt2", tmp_path / "shapes")
    assert skipping.returncode == 0, skipping.stderr
    assert skipping.stderr.strip() == "netstudio: warning: 1 unreadable image file skipped: dark/zz-broken.png"
    assert _rows(skipping.stdout) == rows
    (tmp_path / "bad" / "x").mkdir(parents=True)
    for name in ("a.png", "b.png"):
        (tmp_path / "bad" / "x" / name).write_bytes(b"not an image")
    one_line_error(netstudio("predict", tmp_path / "run" / "model.pt2", tmp_path / "bad"),
                    "none of the 2 image files can be read")
