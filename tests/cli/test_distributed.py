"""``torchrun -m netstudio train``: two real processes with gloo on the CPU.

Each launch uses ``--standalone`` (torchrun picks a free port), so parallel test runs do not
collide. Failures are injected by a small launcher script written here (``inject.py``): it
wraps the loss of rank 1 only, then runs the ordinary command line. NetStudio itself has no
fault-injection hook.
"""

import csv
import json
import os
import shlex
import socket
import subprocess
import sys
import time

import pytest

EPOCHS = 20
#: Every launch must end well within this (they take ~5-15 s on two busy cores).
LIMIT = 90

INJECT = '''
import os, sys
import torch
from netstudio.core.training import class_weights as training  # the trainer builds its loss there

FAULT, CALL = os.environ["TEST_FAULT"], int(os.environ.get("TEST_FAULT_CALL", "20"))
real_make_loss = training.make_loss


def make_loss(plan):
    loss_fn, calls = real_make_loss(plan), [0]

    def faulty(out, y):
        calls[0] += 1
        if os.environ.get("RANK") == "1" and calls[0] == CALL:
            if FAULT == "oom":
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            if FAULT == "crash":
                os._exit(3)
            if FAULT == "nan":
                return loss_fn(out, y) * float("nan")
        return loss_fn(out, y)
    return faulty


training.make_loss = make_loss
from netstudio.cli import main
sys.exit(main())
'''


def write_project(folder, name="moons", batch_size=32, epochs=EPOCHS):
    doc = {
        "format": "netstudio-project", "version": 1, "name": name,
        "data": {"source": "synthetic", "kind": "moons", "samples": 600, "noise": 0.2},
        "model": {"layers": [{"type": "Linear", "params": {"out_features": 16}}, {"type": "ReLU"},
                             {"type": "Linear", "params": {"out_features": "auto"}}]},
        "training": {"epochs": epochs, "learning_rate": 0.01, "batch_size": batch_size, "device": "cpu"},
    }
    path = folder / f"{name}-{batch_size}.nsproj"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def environment(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                              "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", **extra)
    return env


def torchrun(*args, env=None):
    """``python -m torch.distributed.run --nproc_per_node=2 --standalone ARGS``; (result, seconds)."""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
                             *map(str, args)], capture_output=True, text=True, timeout=LIMIT,
                            env=env or environment())
    return result, time.monotonic() - started


def free_port():
    """A TCP port free on 127.0.0.1 right now (the OS picks it, so parallel runs differ)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_all(procs):
    """(stdout, stderr) of each process once all have ended; none is left running, even on a timeout."""
    try:
        return [p.communicate(timeout=LIMIT) for p in procs]
    finally:
        for p in procs:
            p.kill()


def errors(result):
    return [line for line in result.stderr.splitlines() if line.startswith("netstudio: error:")]


def metrics(folder):
    with open(folder / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """The single-process reference both DDP comparisons need (batch 32, the same project): trained
    once, in-process and without model files. It is not the command under test, torchrun is; the
    in-process trainer is the one ``netstudio train`` runs."""
    from netstudio.core.project import load_project
    from netstudio.core.runs.folder import save_run
    from netstudio.core.training.session import prepare_session

    folder = tmp_path_factory.mktemp("single")
    session = prepare_session(load_project(write_project(folder, batch_size=32)))
    summary = session.fit()
    assert summary.ok, summary.message
    return save_run(session, summary, folder / "single")


@pytest.fixture
def inject(tmp_path):
    path = tmp_path / "inject.py"
    path.write_text(INJECT, encoding="utf-8")
    return path


def test_two_processes_train_like_one_with_a_doubled_batch(tmp_path, single):
    # Two ranks with batch 16 see, at each step, exactly the 32 samples one process sees with
    # batch 32 (480 training samples: no padding), and DDP averages their gradients: the runs must
    # agree to float rounding.
    out = tmp_path / "runs"
    result, _ = torchrun("-m", "netstudio", "train", write_project(tmp_path, batch_size=16), "--out", out / "ddp")
    assert result.returncode == 0, result.stderr

    # Only rank 0 printed: one header, one line per epoch.
    lines = result.stdout.splitlines()
    assert sum(line.startswith("Training ") for line in lines) == 1
    assert "cpu × 2 processes (gloo)" in lines[0]
    assert sum(line.startswith("epoch ") for line in lines) == EPOCHS
    # Exactly one run folder, with the single-process contract.
    assert [p.name for p in out.iterdir()] == ["ddp"]
    run = out / "ddp"
    for name in ("metrics.csv", "summary.json", "project.nsproj", "weights.safetensors", "preprocessing.json",
                 "metadata.json"):
        assert (run / name).is_file(), name
    ddp_rows, single_rows = metrics(run), metrics(single)
    assert list(ddp_rows[0]) == list(single_rows[0])  # same columns, same order
    for d, s in zip(ddp_rows, single_rows, strict=True):
        for key in ("train_loss", "val_loss", "val_accuracy"):
            assert float(d[key]) == pytest.approx(float(s[key]), rel=1e-4, abs=1e-6), (d["epoch"], key)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["n_train"] == 480 and summary["epochs_run"] == EPOCHS
    assert summary["status"] == "completed" and summary["device"] == "cpu"
    # The weights come from the plain module: they load into the design as saved, no "module." prefix.
    from netstudio.core.runs.folder import load_run

    model = load_run(run).load_model()
    assert all(not k.startswith("module.") for k in model.state_dict())


def test_two_processes_reach_the_accuracy_of_one(tmp_path, single):
    # Same project, same batch size per process: the 2-process run takes half the steps with twice
    # the samples each, so its curve differs; on moons both end near 0.9. Tolerance 0.05 (6 of 120
    # validation points): loose enough for the different trajectory, tight enough to catch a rank
    # training on the wrong shard, unsynchronised weights or metrics taken from one rank's half.
    project = write_project(tmp_path)
    result, _ = torchrun("-m", "netstudio", "train", project, "--out", tmp_path / "ddp", "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # --quiet holds on every rank
    ddp = json.loads((tmp_path / "ddp" / "summary.json").read_text())
    one = json.loads((single / "summary.json").read_text())
    assert one["val_accuracy"] > 0.85
    assert abs(ddp["val_accuracy"] - one["val_accuracy"]) <= 0.05
    assert ddp["n_train"] == one["n_train"] and ddp["n_val"] == one["n_val"]


@pytest.mark.parametrize("fault, message", [
    ("oom", "netstudio: error: rank 1: out of memory on cpu with batch size 32: try a smaller batch size"),
    ("crash", "netstudio: error: rank 0: stopped: lost contact with another process"),
])
def test_a_failing_rank_ends_the_whole_job(tmp_path, inject, fault, message):
    out = tmp_path / "run"
    result, seconds = torchrun(inject, "train", write_project(tmp_path), "--out", out,
                               env=environment(TEST_FAULT=fault))
    assert result.returncode != 0
    if fault == "crash":  # a process that dies says nothing; rank 0 says why it stopped, unless
        # torchrun's SIGTERM gets there first, and torchrun names the dead rank either way
        assert "exitcode  : 3" in result.stderr and "rank      : 1" in result.stderr, result.stderr
        assert all(line.startswith(message) for line in errors(result)), result.stderr
    else:
        assert any(line.startswith(message) for line in errors(result)), result.stderr
    assert seconds < 60
    assert not out.exists()  # no partial run folder
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run.")]


def test_nan_on_one_rank_is_agreed_reported_once_and_the_run_saved(tmp_path, inject):
    out = tmp_path / "run"
    result, _ = torchrun(inject, "train", write_project(tmp_path), "--out", out, "--quiet",
                         env=environment(TEST_FAULT="nan"))
    assert result.returncode != 0
    # 240 samples per rank, 8 steps per epoch: the 20th loss is in epoch 3.
    assert errors(result) == ["netstudio: error: rank 1: training diverged at epoch 3 (loss nan): lower the "
                              f"learning rate (now 0.01) (run saved to {out})"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["best_epoch"] == 2 and summary["world_size"] == 2


def test_without_torchrun_a_dead_peer_is_noticed(tmp_path, inject):
    # The same variables set by hand (as another launcher would): nobody tears the job down, so
    # rank 0 must notice by itself that rank 1 died.
    port = free_port()
    project = write_project(tmp_path)
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, str(inject), "train", str(project), "--out", str(tmp_path / "run")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=environment(TEST_FAULT="crash", RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE="2",
                                              MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)))
             for r in range(2)]
    outputs = wait_all(procs)
    assert procs[1].returncode == 3
    assert procs[0].returncode == 1
    assert outputs[0][1].startswith("netstudio: error: rank 0: stopped: lost contact with another process")
    assert time.monotonic() - started < 60


def test_the_multi_node_command_line_trains_with_two_agents_here(tmp_path):
    # cluster_commands' multi-node line, run twice on this machine as two one-process "nodes"
    # that meet through c10d rendezvous on a free local port.
    from netstudio.core.training.distributed import cluster_commands

    port = free_port()
    line = cluster_commands(write_project(tmp_path, epochs=3), 1, 2, "127.0.0.1", port)["multi_node"]
    argv = shlex.split(line)
    assert argv[0] == "torchrun"
    argv = [sys.executable, "-m", "torch.distributed.run", *argv[1:], "--out", str(tmp_path / "run"), "--quiet"]
    agents = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
              for _ in range(2)]
    outputs = wait_all(agents)
    assert [a.returncode for a in agents] == [0, 0], outputs
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["epochs_run"] == 3
