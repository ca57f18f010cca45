"""Faults injected into a running NetStudio, in-process: out of memory while training, runs that
diverge, sizes that could never be allocated, and writes that fail half-way. Each must end in a
one-line NetStudioError (or a failed-but-saved run), and leave every existing file as it was."""

from __future__ import annotations

import errno
import os

import pytest

from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.errors import ConfigError, ExportError, NetStudioError, ProjectError
from netstudio.core.project import Project, load_project
from tests.reliability.catalogue import SYNTHETIC, TABLE, project_doc, write_project
from tests.reliability.conftest import assert_nothing_lost, snapshot, tally

S = LayerSpec.create


def moons_project(folder, **training) -> Project:
    project = Project(name="moons", data=dict(SYNTHETIC),
                      stack=LayerStack([S("Linear", out_features=8), S("ReLU"), S("Linear", out_features="auto")]),
                      path=folder / "moons.nsproj")
    project.training.update({"epochs": 3, "batch_size": 8, "device": "cpu", **training})
    project.save()
    return project


def explode_after(layer, steps: int, error: BaseException) -> None:
    """Make *layer* raise *error* on its training forward passes after *steps* of them."""
    forward = layer.forward
    calls = {"n": 0}

    def guarded(x):
        if layer.training:
            calls["n"] += 1
            if calls["n"] > steps:
                raise error
        return forward(x)

    layer.forward = guarded


@pytest.mark.parametrize("error", ["torch", "host"])
def test_out_of_memory_mid_run_fails_the_run_and_still_saves_it(tmp_path, error):
    """An allocator's OOM in the middle of an epoch: the run ends "failed" with the advice, the
    best weights so far are kept, and the run folder is written complete (nothing half-written)."""
    import torch

    from netstudio.core.export.exporter import write_run_models
    from netstudio.core.runs.folder import RUN_FILES, load_run, save_run
    from netstudio.core.training.session import prepare_session

    session = prepare_session(moons_project(tmp_path))
    exc = torch.OutOfMemoryError("CUDA out of memory (injected)") if error == "torch" else MemoryError()
    explode_after(session.model[0], 12, exc)
    before = snapshot(tmp_path)
    tally("inputs")
    tally("faults")
    summary = session.fit()
    assert summary.status == "failed" and not summary.ok
    assert summary.message == "out of memory on cpu with batch size 8: try a smaller batch size or a smaller model"
    assert summary.epochs_run == 2  # 6 steps an epoch: the third one ran out of memory
    folder = save_run(session, summary, tmp_path / "run", write_models=write_run_models)
    assert all((folder / name).is_file() for name in RUN_FILES)
    assert load_run(folder).summary["status"] == "failed"
    assert_nothing_lost(before, tmp_path, new=("run/*",))


def test_a_diverging_run_is_reported_in_one_line_and_keeps_good_weights(tmp_path):
    import torch

    from netstudio.core.training.session import prepare_session

    session = prepare_session(moons_project(tmp_path, optimizer="sgd", learning_rate=10.0))

    class Poison(torch.nn.Module):
        def forward(self, x):  # from the 2nd epoch on, the loss is NaN: a divergence
            self.calls = getattr(self, "calls", 0) + 1
            return x * float("nan") if self.training and self.calls > 6 else x

    session.model.append(Poison())
    tally("inputs")
    tally("faults")
    summary = session.fit()
    assert summary.status == "diverged"
    assert "training diverged at epoch 2 (loss nan): lower the learning rate (now 10)" in summary.message
    assert "\n" not in summary.message and summary.best_epoch == 1


def _peak_rss_from_now() -> int:
    """Reset this process' peak resident size to its current size (Linux: ``clear_refs`` 5) and
    return it; :func:`_peak_rss` then tells the peak since. A lifetime peak (``ru_maxrss``) would
    hide an allocation below what earlier tests of the session once held."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pytest.skip("needs Linux's /proc/self/clear_refs to measure peak memory from a point on")
    return _peak_rss()


def _peak_rss() -> int:
    with open("/proc/self/status") as handle:
        kib = next(int(line.split()[1]) for line in handle if line.startswith("VmHWM:"))
    return kib * 1024


def test_a_design_too_large_for_memory_is_refused_before_allocating(tmp_path, monkeypatch):
    """Say the machine has 256 MB: a design needing ~2 GB is refused by prepare_session before a
    single weight exists (the process' peak memory does not move), while the probe does see a
    ~350 MB design being built once it is allowed (so the measurement can fail)."""
    import netstudio.core.design.validation as validation_module
    from netstudio.core.training.session import prepare_session

    project = moons_project(tmp_path)
    project.data = {"source": "synthetic", "kind": "moons", "samples": 40}
    # 2 -> 11,000 -> 11,000: 121 M weights, 484 MB of float32, ~2 GB to train with Adam
    project.stack = LayerStack([S("Linear", out_features=11_000), S("ReLU"), S("Linear", out_features=11_000),
                                S("ReLU"), S("Linear", out_features="auto")])
    monkeypatch.setattr(validation_module, "physical_memory", lambda: 256 * 10**6)
    (tmp_path / "warm").mkdir()
    prepare_session(moons_project(tmp_path / "warm"))  # torch and the data loaders are in memory now
    base = _peak_rss_from_now()
    tally("inputs")
    with pytest.raises(ProjectError) as info:
        prepare_session(project)
    assert "more than the 256.0 MB available" in str(info.value) and "\n" not in str(info.value)
    assert _peak_rss() - base < 64 * 2**20, "memory was allocated for a design that was refused"
    # The control: the same probe sees the weights of a design that is allowed.
    monkeypatch.setattr(validation_module, "physical_memory", lambda: 64 * 10**9)
    project.stack = LayerStack([S("Linear", out_features=9_500), S("ReLU"), S("Linear", out_features=9_500),
                                S("ReLU"), S("Linear", out_features="auto")])
    base = _peak_rss_from_now()
    session = prepare_session(project)
    assert _peak_rss() - base > 250 * 2**20
    del session


def test_a_size_that_cannot_exist_stops_the_shapes_without_overflow():
    from netstudio.core.design.stack import LayerStack

    stack = LayerStack([S("Linear", out_features=2**31 - 1)] * 5)
    tally("inputs")
    validation = stack.validate((2**31 - 1,), 2)
    assert not validation.valid
    text = validation.first_error()
    assert "\n" not in text
    stack.validate((3,)).to_json()  # plain, finite JSON


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_project_save_that_fails_half_way_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "p.nsproj"
    write_project(tmp_path, project_doc())
    project = load_project(path)
    project.stack.append(S("ReLU"))
    before = snapshot(tmp_path)
    monkeypatch.setattr(os, "fsync", _disk_full)
    tally("faults")
    with pytest.raises(ProjectError, match="cannot save .*p.nsproj: No space left on device"):
        project.save()
    assert_nothing_lost(before, tmp_path)


def test_a_run_folder_that_fails_half_way_leaves_nothing(tmp_path, monkeypatch):
    import netstudio.core.runs.folder as runs
    from netstudio.core.training.session import prepare_session

    session = prepare_session(moons_project(tmp_path, epochs=1))
    summary = session.fit()
    before = snapshot(tmp_path)

    def broken_records(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("safetensors.torch.save_file", broken_records)
    tally("faults")
    with pytest.raises(ConfigError, match="cannot write the run folder .*No space left on device"):
        runs.save_run(session, summary, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert_nothing_lost(before, tmp_path)


def test_model_files_that_fail_keep_the_saved_records(tmp_path):
    """The weights and metrics are in place before the (slow) model files are written: a writer
    that fails leaves a run that ``export`` completes, and says so in one line."""
    import netstudio.core.runs.folder as runs
    from netstudio.core.training.session import prepare_session

    session = prepare_session(moons_project(tmp_path, epochs=1))
    summary = session.fit()

    def broken_writer(session, summary, folder):
        raise OSError(errno.ENOSPC, "No space left on device")

    tally("faults")
    with pytest.raises(ConfigError, match="cannot write the model files .*No space left on device .*the run is saved"):
        runs.save_run(session, summary, tmp_path / "run", write_models=broken_writer)
    assert {"weights.safetensors", "metrics.csv", "summary.json"} <= {p.name for p in (tmp_path / "run").iterdir()}
    runs.load_run(tmp_path / "run").load_model()


@pytest.mark.parametrize("fmt", ["pt2", "safetensors", "python"])
def test_an_export_that_fails_at_the_last_step_keeps_the_previous_file(tmp_path, monkeypatch, fmt):
    from netstudio.core.export.exporter import export_run, write_run_models
    from netstudio.core.runs.folder import save_run
    from netstudio.core.training.session import prepare_session

    (tmp_path / "table.csv").write_text(TABLE, encoding="utf-8")
    write_project(tmp_path, project_doc({"source": "csv", "path": "table.csv", "target": "label"}))
    session = prepare_session(load_project(tmp_path / "p.nsproj"), device="cpu")
    run = save_run(session, session.fit(), tmp_path / "run", write_models=write_run_models)
    out = tmp_path / ("py" if fmt == "python" else f"m.{fmt}")
    if fmt != "python":
        out.write_bytes(b"the previous export")
    before = snapshot(tmp_path)
    monkeypatch.setattr(os, "replace", _disk_full)
    tally("faults")
    with pytest.raises(ExportError, match="No space left on device"):
        export_run(run, fmt, out)
    assert_nothing_lost(before, tmp_path)


def test_predict_out_that_fails_keeps_the_previous_file(tmp_path, monkeypatch):
    from netstudio.core.fileio import atomic_write_text

    target = tmp_path / "predictions.csv"
    target.write_text("prediction\nold\n", encoding="utf-8")
    before = snapshot(tmp_path)
    monkeypatch.setattr(os, "fsync", _disk_full)
    tally("faults")
    with pytest.raises(OSError):
        atomic_write_text(target, "prediction\nnew\n" * 1000)
    assert_nothing_lost(before, tmp_path)


def test_every_error_of_the_hierarchy_has_a_documented_exit_code():
    from netstudio.core import errors

    codes = {cls.__name__: cls.exit_code for cls in vars(errors).values()
             if isinstance(cls, type) and issubclass(cls, NetStudioError)}
    assert codes == {"NetStudioError": 2, "ProjectError": 2, "NewerProjectError": 2, "DataError": 2,
                     "ConfigError": 2, "TrainingError": 1, "ExportError": 2}
