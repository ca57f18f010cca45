"""A project with blocks through the command line: ``summary`` prints the tree, ``train`` trains it
and writes model.pt2 (and model.onnx), ``export`` writes every format, ``predict`` reads the .pt2."""

from __future__ import annotations

import json

import pytest

from netstudio.core.project import load_project
from tests.core.test_export_support import BLOCKS, netstudio, write_project, write_table

pytestmark = pytest.mark.xdist_group("test_blocks_cli")

SUFFIX = {"pt2": ".pt2", "torchscript": ".pt", "onnx": ".onnx", "safetensors": ".safetensors"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("blocks-cli")
    table = write_table(folder / "table.csv", rows=160)
    return write_project(folder, "blocks", {"source": "csv", "path": str(table), "target": "label"}, BLOCKS)


@pytest.fixture(scope="module")
def run_dir(project):
    out = project.parent / "run"
    result = netstudio("train", project, "--epochs", "2", "--out", out, "--quiet", "--onnx")
    assert result.returncode == 0, result.stderr
    return out


def test_summary_prints_the_tree_and_its_json(project):
    result = netstudio("summary", project)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("2  Residual") for line in lines)
    assert any(line.split()[:2] == ["1.", "Linear"] and line.startswith("     ") for line in lines)
    assert any("branch 2 (empty: passes its input on)" in line for line in lines)
    doc = json.loads(netstudio("summary", project, "--json").stdout)
    residual, parallel, repeat = doc["layers"][1:4]
    assert [e["path"] for e in residual["layers"]] == ["model.layers[1].layers[0]", "model.layers[1].layers[1]"]
    assert parallel["branches"][0][0]["path"] == "model.layers[2].branches[0][0]" and parallel["branches"][1] == []
    assert parallel["output_shape"] == [18] and repeat["output_shape"] == [8]
    assert doc["valid"] and doc["total_parameters"] == sum(e["parameters"] for e in doc["layers"])


def test_train_writes_the_model_files_and_the_exact_project(run_dir, project):
    assert (run_dir / "model.pt2").stat().st_size > 0 and (run_dir / "model.onnx").stat().st_size > 0
    saved = json.loads((run_dir / "project.nsproj").read_text())
    assert saved["version"] == 2
    assert saved["model"]["layers"] == load_project(project).stack.to_config()


@pytest.mark.parametrize("fmt", ["pt2", "torchscript", "onnx", "safetensors", "python"])
def test_export_writes_every_format(run_dir, tmp_path, fmt):
    out = tmp_path / ("python" if fmt == "python" else "model" + SUFFIX[fmt])
    result = netstudio("export", run_dir, "--format", fmt, "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {out} ({fmt}, max abs difference to the trained model ")


def test_predict_reads_the_trained_pt2(run_dir, project, tmp_path):
    out = tmp_path / "predictions.csv"
    result = netstudio("predict", run_dir / "model.pt2", project.parent / "table.csv", "--out", out)
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines()[0].startswith("prediction")
