"""The review's smaller failures, each now a one-line error or a warning, never "internal error".

A model with a fixed batch or a 1-D output, stdout on a full disk, ONNX export onto a full disk,
a model that outputs NaN ("setosa" with NaN probabilities), a CSV whose header is shorter than
its rows (trained on the first columns only), a space-separated file (read as one column) and
``"features": "name"`` (reported as "feature column 's' not found").
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess

import pytest
import torch
from torch import nn

from netstudio.core.export.formats import example_input, quiet
from netstudio.core.export.safe_load import METADATA_FILE
from tests.reliability.catalogue import TABLE, project_doc, write_project
from tests.reliability.conftest import netstudio, one_error_line, tally
from tests.reliability.hostile_models import _metadata, _model_with


@pytest.fixture(autouse=True)
def count():
    tally("inputs")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    (folder / "table.csv").write_text(TABLE, encoding="utf-8")
    write_project(folder, project_doc({"source": "csv", "path": "table.csv", "target": "label"}))
    result = netstudio("train", "p.nsproj", "--out", "run", "--quiet", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


class Poisoned(nn.Module):
    def forward(self, x):
        return x * float("nan")


class FirstColumn(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)[:, 0]


def _torchscript(trained, folder, extra: nn.Module | None = None, outer=None) -> str:
    """The trained model (with *extra* appended to its network, or wrapped in *outer*) as a
    TorchScript file carrying NetStudio's metadata, as the exporter writes it."""
    model, metadata = _model_with(trained / "run", extra if extra is not None else nn.Identity())
    module = outer(model) if outer is not None else model
    with quiet():
        traced = torch.jit.trace(module, (example_input(model),), check_trace=False)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer, _extra_files={METADATA_FILE: _metadata(metadata, "torchscript")})
    (folder / "model.pt").write_bytes(buffer.getvalue())
    shutil.copy(trained / "table.csv", folder / "table.csv")
    return "model.pt"


def _fixed_batch_pt2(trained, folder) -> str:
    """The trained model exported without a dynamic batch: its program guards ``batch == 2``."""
    model, metadata = _model_with(trained / "run", nn.Identity())
    with quiet():
        program = torch.export.export(model, (example_input(model),))
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files={METADATA_FILE: _metadata(metadata, "pt2")})
    (folder / "model.pt2").write_bytes(buffer.getvalue())
    shutil.copy(trained / "table.csv", folder / "table.csv")
    return "model.pt2"


def test_a_model_with_a_fixed_batch_is_a_one_line_error(trained, tmp_path):
    model = _fixed_batch_pt2(trained, tmp_path)
    line = one_error_line(netstudio("predict", model, "table.csv", "--out", "p.csv", cwd=tmp_path), 2)
    assert "cannot run on 48 rows" in line, line
    assert not (tmp_path / "p.csv").exists()


def test_a_model_with_a_one_dimensional_output_is_a_one_line_error(trained, tmp_path):
    model = _torchscript(trained, tmp_path, outer=FirstColumn)
    line = one_error_line(netstudio("predict", model, "table.csv", "--out", "p.csv", cwd=tmp_path), 2)
    assert "outputs of shape [48]" in line, line
    assert not (tmp_path / "p.csv").exists()


def test_nan_outputs_are_warned_about_and_get_no_class(trained, tmp_path):
    model = _torchscript(trained, tmp_path, Poisoned())
    result = netstudio("predict", model, "table.csv", "--out", "p.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning: the model gave NaN or infinite outputs for 48 of 48 rows" in result.stderr, result.stderr
    rows = list(csv.DictReader((tmp_path / "p.csv").open(encoding="utf-8")))
    assert len(rows) == 48 and all(row["prediction"] == "" for row in rows), rows[:2]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_stdout_on_a_full_disk_is_a_one_line_error(trained, tmp_path):
    shutil.copy(trained / "table.csv", tmp_path / "table.csv")
    with open("/dev/full", "w") as full:
        result = subprocess.run([*_cli(), "predict", str(trained / "run" / "model.pt2"), "table.csv"],
                                stdout=full, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=_env())
    result.stdout = ""
    assert "No space left on device" in one_error_line(result, 2)


def _cli():
    import sys

    return [sys.executable, "-m", "netstudio"]


def _env():
    from tests.reliability.conftest import REPO

    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _full_disk_wrapper(folder) -> list[str] | None:
    """A 16 KiB tmpfs mounted on *folder* in a private mount namespace (root only), or None."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return None
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=16k tmpfs {folder}"],
                           capture_output=True)
    if probe.returncode != 0:
        return None
    return ["unshare", "-m", "sh", "-c", 'mount -t tmpfs -o size=16k tmpfs "$0" && exec "$@"', str(folder)]


def test_onnx_export_onto_a_full_disk_is_a_one_line_error(trained, tmp_path):
    pytest.importorskip("onnxscript")
    (tmp_path / "full").mkdir()
    wrap = _full_disk_wrapper(tmp_path / "full")
    if wrap is None:
        pytest.skip("cannot mount a small tmpfs here (not root, or no mount namespaces)")
    tally("faults")
    result = netstudio("export", trained / "run", "--format", "onnx", "--out", "full/m.onnx", cwd=tmp_path,
                       wrap=wrap)
    line = one_error_line(result, 2)
    assert "cannot write" in line and "m.onnx" in line and "No space left on device" in line, line
    assert os.listdir(tmp_path / "full") == []


def test_a_header_shorter_than_its_rows_is_refused(tmp_path):
    (tmp_path / "t.csv").write_text("x,y\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(20)), encoding="utf-8")
    write_project(tmp_path, project_doc({"source": "csv", "path": "t.csv"}))
    line = one_error_line(netstudio("summary", "p.nsproj", cwd=tmp_path), 2)
    assert "more fields than the header's 2" in line, line


def test_a_space_separated_file_is_read_as_its_columns(tmp_path):
    rows = "".join(f"{i % 7 * 0.1 + 5:.1f}  {i % 5 * 0.3 + 1:.1f} {'ab'[i % 2]}\n" for i in range(30))
    (tmp_path / "t.txt").write_text("x  y label\n" + rows, encoding="utf-8")
    write_project(tmp_path, project_doc({"source": "csv", "path": "t.txt", "target": "label"}))
    result = netstudio("summary", "p.nsproj", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Input             [2]" in result.stdout, result.stdout


def test_features_given_as_a_string_is_a_type_error(tmp_path):
    (tmp_path / "t.csv").write_text(TABLE, encoding="utf-8")
    write_project(tmp_path, project_doc({"source": "csv", "path": "t.csv", "target": "label", "features": "a"}))
    line = one_error_line(netstudio("summary", "p.nsproj", cwd=tmp_path), 2)
    assert "data.features: must be a list of column names" in line, line
