"""The ``python`` export: readable model.py (ruff-clean, strict weights), preprocessing as code that
matches NetStudio's, and a train.py that reproduces the run, alone and under torchrun (DDP, gloo)."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from netstudio.core.data import model_inputs
from netstudio.core.errors import ExportError
from netstudio.core.export.exporter import export_run
from tests.core.test_export_support import (
    BLOCK_NETSTUDIO,
    BLOCKS,
    LSTM,
    MLP,
    run_isolated,
    train_run,
    write_sequences,
    write_table,
)

# The module fixture (a trained run) is built once: every test that uses it runs in the same
# xdist process. The other tests are in no group, so they run on whichever process is free.
shares_the_module_fixture = pytest.mark.xdist_group("test_export_python")

CASES = {
    "table": lambda d: ({"source": "csv", "path": str(write_table(d / "table.csv", rows=200)), "target": "label"},
                        MLP),
    "lstm": lambda d: ({"source": "npz", "path": str(write_sequences(d / "seq.npz"))}, LSTM),
    "blocks": lambda d: ({"source": "csv", "path": str(write_table(d / "table.csv", rows=200)), "target": "label"},
                         BLOCKS),
}


@pytest.fixture(scope="module", params=list(CASES))
def folder(request, tmp_path_factory):
    """(case, run folder, python export folder) with netstudio blocked for everything run there."""
    base = tmp_path_factory.mktemp(request.param)
    data, layers = CASES[request.param](base)
    run = train_run(base, request.param, data, layers, {"epochs": 2, "batch_size": 32})
    out = base / "python"
    export_run(run, "python", out)
    site = base / "site"  # every interpreter started with this on PYTHONPATH cannot import netstudio
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_NETSTUDIO)
    return request.param, run, out, site


def _env(site):
    import os

    return {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}


def _first_epoch(run) -> dict:
    with open(run / "metrics.csv", newline="") as handle:
        return next(csv.DictReader(handle))


def _epoch_values(line: str) -> dict:
    words = line.split()
    return {words[i]: float(words[i + 1]) for i in range(2, len(words) - 1, 2)}


@shares_the_module_fixture
def test_model_py_is_readable_pytorch_that_passes_ruff(folder):
    case, _, out, _ = folder
    source = (out / "model.py").read_text()
    assert "class Net(nn.Module):" in source and "class Preprocess(nn.Module):" in source
    assert "strict=True" in source and "netstudio" not in source.replace("NetStudio", "")
    if case == "table":
        assert "self.fc1 = nn.Linear(" in source and "self.dropout1 = nn.Dropout(p=0.1)" in source
        assert "def encode_table(frame)" in source
    elif case == "blocks":
        assert "class Res1(nn.Module):" in source and "self.res1 = Res1()" in source
        assert "self.parallel1 = Parallel1()" in source and "self.repeat1 = Repeat1()" in source
    else:
        assert 'self.lstm1 = Recurrent("LSTM", 3, hidden_size=8, num_layers=2, bidirectional=True)' in source
    # raw rows and image files are read by NetStudio's own module, shipped beside model.py
    assert (out / "model_inputs.py").read_text() == Path(model_inputs.__file__).read_text()
    for rules in ([], ["--select", "E,F,W,I,B,UP", "--line-length", "100"]):
        result = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", *rules, "model.py",
                                 "model_inputs.py", "train.py"], cwd=out, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout


@shares_the_module_fixture
def test_model_py_loads_its_weights_strictly(folder):
    _, _, out, _ = folder
    run_isolated('''
        import sys
        sys.path.insert(0, "python")
        from safetensors.torch import load_file
        import model

        state = load_file("python/weights.safetensors")
        model.Model().load_state_dict(state, strict=True)
        assert set(state) == set(model.Model().state_dict())
        del state[next(k for k in state if k.startswith("net."))]
        try:
            model.Model().load_state_dict(state, strict=True)
        except RuntimeError as exc:
            assert "Missing key" in str(exc)
        else:
            raise AssertionError("a missing weight went unnoticed")
    ''', cwd=out.parent)


@shares_the_module_fixture
@pytest.mark.parametrize("folder", ["table"], indirect=True)
def test_encode_table_matches_netstudios_encoding(folder, tmp_path):
    _, run, out, _ = folder
    from netstudio.core.data.csv import read_table
    from netstudio.core.runs.folder import load_run

    table = tmp_path / "rows.csv"
    rows = (run.parent / "table.csv").read_text().splitlines()
    # unseen and missing categories, yes/no in capitals, a missing number written as "n/a"
    table.write_text("\n".join(rows[:30] + ["51.5,4.2,purple,YES,mid", "n/a,,, no,low"]) + "\n")
    expected = load_run(run).preprocessor().encode_frame(read_table(table)[0])
    np.save(tmp_path / "expected.npy", expected)
    run_isolated(f'''
        import sys
        import numpy as np
        import pandas as pd
        sys.path.insert(0, {str(out)!r})
        import model

        expected = np.load("expected.npy")
        for frame in (pd.read_csv("rows.csv"), pd.read_csv("rows.csv", dtype=str, keep_default_na=False)):
            np.testing.assert_array_equal(model.encode_table(frame), expected)
    ''', cwd=tmp_path)
    assert np.isnan(expected).any() and expected[-2, 2:5].tolist() == [0.0, 0.0, 0.0]


@shares_the_module_fixture
def test_train_py_runs_one_epoch_and_reproduces_the_run(folder, tmp_path):
    _, run, out, site = folder
    work = tmp_path / "copy"
    shutil.copytree(out, work)  # train.py works from any folder it is copied to
    result = subprocess.run([sys.executable, "train.py", "--epochs", "1", "--out", "again.safetensors"], cwd=work,
                            env=_env(site), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 1 and lines[0].startswith("epoch 1/1")
    got, want = _epoch_values(lines[0]), _first_epoch(run)
    for key in ("train_loss", "val_loss", "val_accuracy"):
        assert got[key] == pytest.approx(float(want[key]), rel=2e-4, abs=2e-5), key
    run_isolated('''
        import model
        assert model.load_model("again.safetensors") is not None
    ''', cwd=work)


def test_train_py_holds_out_the_test_rows_and_weights_the_classes_as_netstudio_does(tmp_path):
    data = {"source": "csv", "path": str(write_table(tmp_path / "table.csv", rows=200)), "target": "label",
            "test_split": 0.2}
    run = train_run(tmp_path, "weighted", data, MLP, {"epochs": 1, "batch_size": 32, "class_weights": "auto"})
    out = tmp_path / "python"
    export_run(run, "python", out)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_NETSTUDIO)
    result = subprocess.run([sys.executable, "train.py", "--epochs", "1", "--out", "again.safetensors"], cwd=out,
                            env=_env(site), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "120 training and 40 validation samples" in result.stdout  # 40 test rows held out
    line = next(line for line in result.stdout.splitlines() if line.startswith("epoch "))
    got, want = _epoch_values(line), _first_epoch(run)
    for key in ("train_loss", "val_loss", "val_accuracy"):
        assert got[key] == pytest.approx(float(want[key]), rel=2e-4, abs=2e-5), key


@shares_the_module_fixture
@pytest.mark.parametrize("folder", ["table"], indirect=True)
def test_torchrun_trains_with_two_gloo_processes_as_netstudio_does(folder):
    _, run, out, site = folder
    started = time.monotonic()
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    result = subprocess.run([*torchrun, "train.py", "--epochs", "2", "--device", "cpu", "--out", "ddp.safetensors"],
                            cwd=out, env=_env(site), capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "(2 processes)" in result.stdout
    epochs = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epochs] == ["1/2", "2/2"]  # printed once, by rank 0
    assert (out / "ddp.safetensors").is_file()
    # NetStudio's own torchrun training of the same project: the same losses, epoch by epoch.
    netstudio = subprocess.run([*torchrun, "-m", "netstudio", "train", run.parent / "table.nsproj", "--epochs", "2",
                                "--device", "cpu", "--out", run.parent / "ddp-run", "--quiet"],
                               capture_output=True, text=True, timeout=240)
    assert netstudio.returncode == 0, netstudio.stderr[-3000:]
    with open(run.parent / "ddp-run" / "metrics.csv", newline="") as handle:
        reference = list(csv.DictReader(handle))
    for line, row in zip(epochs, reference, strict=True):
        got = _epoch_values(line)
        for key in ("train_loss", "val_loss", "val_accuracy"):
            assert got[key] == pytest.approx(float(row[key]), rel=2e-4, abs=2e-5), (line, key)
    assert time.monotonic() - started < 240


@shares_the_module_fixture
def test_python_export_refuses_a_folder_that_is_not_empty(folder):
    _, run, out, _ = folder
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(ExportError, match="not an empty folder"):
        export_run(run, "python", out)
    assert sorted(p.name for p in out.iterdir()) == before
