"""``netstudio summary`` and ``--version`` in a subprocess, as a user runs them."""

import json

import pytest

from netstudio import __version__
from tests.commands import netstudio
from tests.core.test_project import CONTRACT_EXAMPLE


@pytest.fixture
def project_file(tmp_path):
    path = tmp_path / "demo.nsproj"
    path.write_text(json.dumps(CONTRACT_EXAMPLE), encoding="utf-8")
    return path


def test_version():
    result = netstudio("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"netstudio {__version__}"


def test_summary_json_follows_the_contract(project_file):
    result = netstudio("summary", project_file, "--json", "--input-shape", "30", "--output-width", "2")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["input_shape"] == [30] and doc["valid"] is True
    assert doc["total_parameters"] == 30 * 64 + 64 + 64 * 2 + 2
    first = doc["layers"][0]
    assert set(first) >= {"index", "type", "params", "output_shape", "parameters", "issues"}
    assert first["params"]["in_features"] == 30 and first["output_shape"] == [64]
    assert doc["layers"][3]["params"]["out_features"] == 2


def test_summary_invalid_stack_still_exits_zero(project_file):
    result = netstudio("summary", project_file, "--json", "--input-shape", "3,8,8")
    assert result.returncode == 0
    doc = json.loads(result.stdout)
    assert doc["valid"] is False
    assert doc["layers"][0]["issues"][0] == {"severity": "error", "fix": "Insert Flatten",
                                             "message": "Linear needs a flat input, got [3, 8, 8]: insert Flatten"}


def test_summary_table_is_readable(project_file):
    result = netstudio("summary", project_file, "--input-shape", "30")
    assert result.returncode == 0
    assert "Linear" in result.stdout and "64 units" in result.stdout and "Total parameters: 2,049" in result.stdout


@pytest.mark.parametrize("content, needle", [
    (None, "no such project file"),
    ('{"format": "netstudio-project", "vers', "not valid JSON"),
    ('{"format": "netstudio-project", "version": 1, "model": {"layers": [{"type": "Nope"}]}}', "unknown layer type"),
])
def test_bad_project_exits_2_with_one_line(tmp_path, content, needle):
    path = tmp_path / "bad.nsproj"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = netstudio("summary", path, "--input-shape", "4")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("netstudio: error: ") and needle in lines[0]
    assert "Traceback" not in result.stderr


def test_usage_error_is_one_line_exit_2():
    result = netstudio("summary")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
