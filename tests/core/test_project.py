"""The project file: round trip, unknown keys, migration, and every kind of bad file."""

import json
import os

import pytest

from netstudio.core import project as project_module
from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.errors import ProjectError
from netstudio.core.project import Project, load_project, new_project

CONTRACT_EXAMPLE = {
    "format": "netstudio-project", "version": 1, "name": "breast-cancer-mlp",
    "data": {"source": "csv", "path": "data/patients.csv", "target": "diagnosis",
             "exclude": ["patient id"], "task": "auto", "validation_split": 0.2,
             "normalize": True, "seed": 0},
    "model": {"layers": [{"type": "Linear", "params": {"out_features": 64}},
                         {"type": "ReLU", "params": {}},
                         {"type": "Dropout", "params": {"p": 0.2}},
                         {"type": "Linear", "params": {"out_features": "auto"}}]},
    "training": {"optimizer": "adam", "learning_rate": 0.001, "weight_decay": 0.0,
                 "batch_size": 32, "epochs": 30, "loss": "auto", "device": "auto", "seed": 0,
                 "scheduler": "none", "early_stopping": {"patience": None}},
}


def write(tmp_path, doc, name="p.nsproj"):
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc, encoding="utf-8")
    return path


def test_contract_example_loads(tmp_path):
    project = load_project(write(tmp_path, CONTRACT_EXAMPLE))
    assert project.name == "breast-cancer-mlp"
    assert [s.type for s in project.stack] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert project.stack[3].params["out_features"] == "auto"
    assert project.data_path() == tmp_path / "data" / "patients.csv"
    assert project.training["optimizer"] == "adam" and project.training["early_stopping"]["patience"] is None


def test_round_trip_keeps_everything_including_unknown_keys(tmp_path):
    doc = json.loads(json.dumps(CONTRACT_EXAMPLE))
    doc["future_section"] = {"a": [1, 2]}
    doc["model"]["notes"] = "keep me"
    doc["model"]["layers"][0]["label"] = "hidden"
    doc["training"]["future_option"] = 3
    doc["data"]["future_data_option"] = "x"
    path = write(tmp_path, doc)
    project = load_project(path)
    project.save()
    again = json.loads(path.read_text(encoding="utf-8"))
    assert again["future_section"] == {"a": [1, 2]}
    assert again["model"]["notes"] == "keep me"
    assert again["model"]["layers"][0]["label"] == "hidden"
    assert again["training"]["future_option"] == 3
    assert again["data"]["future_data_option"] == "x"
    assert load_project(path).to_json() == project.to_json()


def test_saved_file_is_diff_friendly_json(tmp_path):
    project = new_project("demo")
    project.stack.append(LayerSpec.create("Linear", out_features=3))
    path = project.save(tmp_path / "demo.nsproj")
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and text.startswith("{\n  \"format\": \"netstudio-project\"")
    assert json.loads(text)["model"]["layers"][0] == {"type": "Linear", "params": {"out_features": 3, "bias": True}}


def test_save_as_elsewhere_keeps_data_path_pointing_at_the_same_file(tmp_path):
    (tmp_path / "a" / "data").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    path = write(tmp_path / "a", CONTRACT_EXAMPLE)
    project = load_project(path)
    project.save(tmp_path / "b" / "copy.nsproj")
    assert project.data_path().resolve() == (tmp_path / "a" / "data" / "patients.csv").resolve()
    project.save(tmp_path / "a" / "data" / "inner.nsproj")
    assert project.data["path"] == "patients.csv"


def test_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = write(tmp_path, CONTRACT_EXAMPLE)
    before = path.read_bytes()
    project = load_project(path)
    project.name = "changed"

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ProjectError, match="No space left"):
        project.save()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.nsproj"], "no temporary file left behind"


def test_migration_runs_by_version(tmp_path, monkeypatch):
    def v1_to_v2(doc):
        doc["model"]["layers"] = [{"type": "ReLU"}] + doc["model"]["layers"]
        return doc

    monkeypatch.setattr(project_module, "CURRENT_VERSION", 2)
    monkeypatch.setitem(project_module.MIGRATIONS, 1, v1_to_v2)
    project = load_project(write(tmp_path, CONTRACT_EXAMPLE))
    assert project.stack[0].type == "ReLU"
    assert project.to_json()["version"] == 2


def test_newer_version_is_refused_clearly(tmp_path):
    doc = dict(CONTRACT_EXAMPLE, version=99)
    with pytest.raises(ProjectError, match="newer NetStudio.*update NetStudio"):
        load_project(write(tmp_path, doc))


def bad(doc_change):
    doc = json.loads(json.dumps(CONTRACT_EXAMPLE))
    doc_change(doc)
    return doc


BAD_DOCUMENTS = [
    ("truncated", json.dumps(CONTRACT_EXAMPLE)[:60], "not valid JSON"),
    ("empty", "", "is empty"),
    ("not an object", "[1, 2]", "not a NetStudio project"),
    ("no format", bad(lambda d: d.pop("format")), "not a NetStudio project"),
    ("version string", bad(lambda d: d.update(version="1")), "version: must be a positive integer"),
    ("layers not list", bad(lambda d: d["model"].update(layers={})), "model.layers: must be a list"),
    ("unknown layer", bad(lambda d: d["model"]["layers"].append({"type": "Conv3D"})),
     "model.layers[4].type: unknown layer type 'Conv3D'"),
    ("negative size", bad(lambda d: d["model"]["layers"][0]["params"].update(out_features=-5)),
     "model.layers[0].params.out_features: must be ≥ 1"),
    ("wrong type", bad(lambda d: d["model"]["layers"][3]["params"].update(out_features="many")),
     'model.layers[3].params.out_features: must be a positive integer or "auto"'),
    ("unknown param", bad(lambda d: d["model"]["layers"][2]["params"].update(rate=0.1)),
     "model.layers[2].params.rate: Dropout has no parameter 'rate'"),
    ("dropout 1", bad(lambda d: d["model"]["layers"][2]["params"].update(p=1)),
     "model.layers[2].params.p: must be < 1"),
    ("zero batch", bad(lambda d: d["training"].update(batch_size=0)), "training.batch_size: must be a positive integer"),
    ("negative lr", bad(lambda d: d["training"].update(learning_rate=-0.1)), "training.learning_rate: must be a number > 0"),
    ("unknown optimizer", bad(lambda d: d["training"].update(optimizer="lbfgs")), "training.optimizer: must be one of"),
    ("bad device", bad(lambda d: d["training"].update(device="tpu")), "training.device: must be auto, cpu"),
    ("bad source", bad(lambda d: d["data"].update(source="excel")), "data.source: must be one of"),
    ("bad split", bad(lambda d: d["data"].update(validation_split=1.5)), "data.validation_split"),
    ("NaN", json.dumps(CONTRACT_EXAMPLE).replace("0.001", "NaN"), "NaN is not allowed"),
    ("bool as int", bad(lambda d: d["training"].update(epochs=True)), "training.epochs"),
    ("data not object", bad(lambda d: d.update(data=[1])), "data: must be an object"),
]


@pytest.mark.parametrize("label, doc, message", BAD_DOCUMENTS, ids=[b[0] for b in BAD_DOCUMENTS])
def test_bad_project_files_raise_one_clear_line(tmp_path, label, doc, message):
    path = write(tmp_path, doc)
    with pytest.raises(ProjectError) as info:
        load_project(path)
    text = str(info.value)
    assert message in text
    assert text.startswith(str(path)) and "\n" not in text


def test_missing_file_and_binary_file(tmp_path):
    with pytest.raises(ProjectError, match="no such project file"):
        load_project(tmp_path / "nope.nsproj")
    binary = tmp_path / "bin.nsproj"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    with pytest.raises(ProjectError, match="not UTF-8|not valid JSON"):
        load_project(binary)
    with pytest.raises(ProjectError, match="is a folder"):
        load_project(tmp_path)


def test_deeply_nested_json_is_refused_not_crashing(tmp_path):
    path = write(tmp_path, "[" * 100000 + "]" * 100000)
    with pytest.raises(ProjectError):
        load_project(path)


def test_new_project_saves_and_loads(tmp_path):
    project = Project(name="x", stack=LayerStack([LayerSpec.create("Linear", out_features="auto")]))
    path = project.save(tmp_path / "x.nsproj")
    assert load_project(path).stack[0].params == {"out_features": "auto", "bias": True}
