"""train --resume: a run folder keeps what resuming needs (safetensors + JSON); 5 + 5 epochs = 10."""

import csv
import json

import pytest

from tests.commands import netstudio
from tests.core.test_export_support import one_line_error

DROPOUT_MLP = [{"type": "Linear", "params": {"out_features": 16}}, {"type": "ReLU", "params": {}},
               {"type": "Dropout", "params": {"p": 0.2}}, {"type": "Linear", "params": {"out_features": "auto"}}]


def write_project(folder, training, data=None):
    doc = {"format": "netstudio-project", "version": 1, "name": "resume",
           "data": data or {"source": "synthetic", "kind": "moons", "samples": 300, "noise": 0.2},
           "model": {"layers": DROPOUT_MLP},
           "training": {"device": "cpu", "batch_size": 32, "learning_rate": 0.01, **training}}
    path = folder / "resume.nsproj"
    path.write_text(json.dumps(doc))
    return path


def rows(folder):
    with open(folder / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("training", [
    {"optimizer": "adam", "scheduler": "step"},
    {"optimizer": "sgd", "momentum": 0.9, "scheduler": "plateau", "early_stopping": {"patience": 50}},
], ids=["adam-step", "sgd-plateau"])
def test_five_epochs_resumed_for_five_equal_ten_in_one_go(tmp_path, training):
    project = write_project(tmp_path, training)
    whole = netstudio("train", project, "--epochs", 10, "--out", tmp_path / "ten", "--quiet")
    first = netstudio("train", project, "--epochs", 5, "--out", tmp_path / "five", "--quiet")
    assert whole.returncode == 0 and first.returncode == 0, whole.stderr + first.stderr
    for name in ("resume.safetensors", "resume.json"):
        assert (tmp_path / "five" / name).is_file()
    doc = json.loads((tmp_path / "five" / "resume.json").read_text())
    assert doc["format"] == "netstudio-resume" and doc["epochs_done"] == 5
    resumed = netstudio("train", project, "--resume", tmp_path / "five", "--epochs", 5, "--out", tmp_path / "more")
    assert resumed.returncode == 0, resumed.stderr
    epochs = [line.split()[1] for line in resumed.stdout.splitlines() if line.startswith("epoch ")]
    assert epochs == ["6/10", "7/10", "8/10", "9/10", "10/10"]
    ten, more = rows(tmp_path / "ten"), rows(tmp_path / "more")
    assert [r["epoch"] for r in more] == [str(e) for e in range(1, 11)]
    for a, b in zip(ten, more):  # the contract's first three columns, and the metrics, are identical
        assert (a["epoch"], a["train_loss"], a["val_loss"], a["val_accuracy"], a["learning_rate"]) == \
            (b["epoch"], b["train_loss"], b["val_loss"], b["val_accuracy"], b["learning_rate"])
    a, b = (json.loads((tmp_path / f / "summary.json").read_text()) for f in ("ten", "more"))
    assert (a["epochs_run"], a["best_epoch"], a["val_loss"]) == (b["epochs_run"], b["best_epoch"], b["val_loss"])
    assert (tmp_path / "ten" / "weights.safetensors").read_bytes() == (tmp_path / "more" / "weights.safetensors").read_bytes()


def test_a_resumed_cosine_schedule_starts_again_from_the_configured_rate(tmp_path):
    # 5 + 5 cannot equal 10 here: the first run's cosine fell to 0 over its own 5 epochs.
    project = write_project(tmp_path, {"optimizer": "adam", "scheduler": "cosine"})
    assert netstudio("train", project, "--epochs", 5, "--out", tmp_path / "five", "--quiet").returncode == 0
    resumed = netstudio("train", project, "--resume", tmp_path / "five", "--epochs", 5, "--out", tmp_path / "more",
                        "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    rates = [float(r["learning_rate"]) for r in rows(tmp_path / "more")]
    losses = [float(r["train_loss"]) for r in rows(tmp_path / "more")]
    assert rates[5] == pytest.approx(0.01) and rates[5] > rates[6] > rates[9] > 0  # before: 0.0 from epoch 6 on
    assert len(set(losses[5:])) == 5  # it trains: the loss moves every epoch


def test_resuming_an_augmented_image_run_continues_its_augmentation(tmp_path, repo):
    data = {"source": "images", "path": str(repo / "samples" / "shapes"), "augment": {"hflip": True, "rotate": 10}}
    layers = [{"type": "Flatten", "params": {}}, {"type": "Linear", "params": {"out_features": "auto"}}]
    doc = {"format": "netstudio-project", "version": 1, "name": "shapes", "data": data, "model": {"layers": layers},
           "training": {"device": "cpu", "batch_size": 32, "learning_rate": 0.001}}
    project = tmp_path / "shapes.nsproj"
    project.write_text(json.dumps(doc))
    assert netstudio("train", project, "--epochs", 4, "--out", tmp_path / "four", "--quiet").returncode == 0
    assert netstudio("train", project, "--epochs", 2, "--out", tmp_path / "two", "--quiet").returncode == 0
    result = netstudio("train", project, "--resume", tmp_path / "two", "--epochs", 2, "--out", tmp_path / "more",
                       "--quiet")
    assert result.returncode == 0, result.stderr
    assert [r["train_loss"] for r in rows(tmp_path / "four")] == [r["train_loss"] for r in rows(tmp_path / "more")]


def test_resume_refuses_folders_without_the_state_and_other_models(tmp_path):
    project = write_project(tmp_path, {"epochs": 1})
    one_line_error(netstudio("train", project, "--resume", tmp_path / "nowhere"), "--resume", "not a run folder")
    (tmp_path / "old").mkdir()
    one_line_error(netstudio("train", project, "--resume", tmp_path / "old"), "has no resume.safetensors")
    # The run to refuse is trained in-process, without model files (the refusal is what is tested;
    # the run folders that train writes have the tests above).
    from netstudio.core.project import load_project
    from netstudio.core.runs.folder import save_run
    from netstudio.core.training.session import prepare_session

    session = prepare_session(load_project(project))
    save_run(session, session.fit(), tmp_path / "run")
    assert (tmp_path / "run" / "resume.safetensors").is_file()
    doc = json.loads(project.read_text())
    doc["model"]["layers"][0]["params"]["out_features"] = 8
    other = tmp_path / "other.nsproj"
    other.write_text(json.dumps(doc))
    one_line_error(netstudio("train", other, "--resume", tmp_path / "run", "--out", tmp_path / "x"),
                   "--resume", "do not fit this project's model")
    assert not (tmp_path / "x").exists()
