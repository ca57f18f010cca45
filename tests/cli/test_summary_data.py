"""``netstudio summary`` takes the input shape and the "auto" width from the project's data."""

import json
from pathlib import Path

import pytest

from tests.commands import netstudio

REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted((REPO / "samples").glob("*.nsproj"))

#: input shape and the width "auto" becomes, for every bundled project.
EXPECTED = {
    "first-network": ([10], 1), "house-prices": ([16], 1), "iris": ([4], 3), "shapes": ([3, 32, 32], 3),
    "spiral": ([2], 1), "energy-load": ([24, 2], 1), "reviews": ([32], 1),
}


def test_every_sample_has_an_expectation():
    assert sorted(p.stem for p in SAMPLES) == sorted(EXPECTED)


@pytest.mark.parametrize("project", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_summary_of_each_sample_is_valid_and_uses_its_data(project, tmp_path):
    result = netstudio("summary", project, "--json", cwd=tmp_path)  # paths resolve beside the project
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    shape, width = EXPECTED[project.stem]
    assert doc["valid"] is True, doc
    assert doc["input_shape"] == shape
    assert doc["layers"][-1]["params"]["out_features"] == width
    assert doc["layers"][0]["output_shape"] is not None


def write_project(folder, data, layers=None):
    doc = {"format": "netstudio-project", "version": 1, "name": "t", "data": data,
           "model": {"layers": layers or [{"type": "Linear", "params": {"out_features": "auto"}}]}}
    path = folder / "t.nsproj"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_input_shape_option_overrides_the_data(tmp_path):
    project = write_project(tmp_path, {"source": "csv", "path": "missing.csv"})
    result = netstudio("summary", project, "--json", "--input-shape", "7", "--output-width", "2")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["input_shape"] == [7] and doc["layers"][0]["params"]["out_features"] == 2


def test_synthetic_and_sample_sources(tmp_path):
    project = write_project(tmp_path, {"source": "synthetic", "kind": "gaussians", "classes": 4})
    doc = json.loads(netstudio("summary", project, "--json").stdout)
    assert doc["input_shape"] == [2] and doc["layers"][0]["params"]["out_features"] == 4
    project = write_project(tmp_path, {"source": "sample", "name": "iris"})
    doc = json.loads(netstudio("summary", project, "--json").stdout)
    assert doc["input_shape"] == [4] and doc["layers"][0]["params"]["out_features"] == 3


@pytest.mark.parametrize("data, needle", [
    ({}, "the project has no data, so the input shape is unknown: choose a dataset or give --input-shape"),
    ({"source": "csv", "path": "missing.csv"}, "missing.csv: no such file"),
    ({"source": "csv", "path": "bad.csv", "target": "Label"}, "target column 'Label' not found; did you mean 'label'?"),
    ({"source": "images", "path": "."}, "no class sub-folders"),
])
def test_data_problems_exit_2_with_one_line(tmp_path, data, needle):
    (tmp_path / "bad.csv").write_text("x,label\n1,a\n2,b\n", encoding="utf-8")
    project = write_project(tmp_path, data)
    result = netstudio("summary", project)
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("netstudio: error: ") and needle in lines[0], lines
    assert "Traceback" not in result.stderr
