"""Hostile model files given to ``netstudio predict``: files written, zip bombs, duplicate names.

Each case crafts its file from a genuine model (``hostile_models.py``) and runs ``predict`` (four
cases at a time) in a process whose address space is limited to :data:`ADDRESS_SPACE`
(``setrlimit`` before it starts); the test then asserts the refusal (exit 2, one
``netstudio: error:`` line with the expected words, nothing on stdout), that no file appeared and
none changed (the case's folder, the working folder where the crafted files point, is hashed before
and after; a ``from_file`` target must not exist), and the process's peak memory (``ru_maxrss``
from ``os.wait4``): at most :data:`MARGIN` above what predicting with the genuine files takes under
the same limit (about 370 MB for a .pt2 here; a refusal takes 35-230 MB).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.reliability import hostile_models as hostile
from tests.reliability.catalogue import TABLE, project_doc, write_project
from tests.reliability.conftest import REPO, assert_nothing_lost, one_error_line, snapshot, tally

# The module fixture (a trained run) is built once: every test of this file runs in the same
# xdist process.
pytestmark = pytest.mark.xdist_group("test_model_attacks")

#: The child's address-space limit: a genuine predict runs in under 1 GiB.
ADDRESS_SPACE = 2 * 2**30
#: How much more than a genuine model's prediction a refusal may take, in bytes of peak memory.
MARGIN = 128 * 2**20
#: Where the models that write files point (inside the case's folder, so the snapshot sees it too).
TARGET = "planted.pth"


@pytest.fixture(scope="module")
def genuine(tmp_path_factory) -> dict:
    """A trained run on a small table, its .pt2 and TorchScript files (bytes), and the table."""
    from netstudio.core.export.exporter import export_run, write_run_models
    from netstudio.core.project import load_project
    from netstudio.core.runs.folder import save_run
    from netstudio.core.training.session import prepare_session

    folder = tmp_path_factory.mktemp("genuine")
    (folder / "table.csv").write_text(TABLE, encoding="utf-8")
    write_project(folder, project_doc({"source": "csv", "path": "table.csv", "target": "label"}))
    session = prepare_session(load_project(folder / "p.nsproj"), device="cpu")
    run = save_run(session, session.fit(), folder / "run", write_models=write_run_models)
    pt = export_run(run, "torchscript", folder / "model.pt").path
    return {"run": run, "pt2": (run / "model.pt2").read_bytes(), "pt": pt.read_bytes(), "folder": folder}


def _decoy(genuine: dict) -> Path:
    return genuine["folder"] / "decoy"  # the crafting (trace, export) may map it; never the target


#: id -> (file name, how to craft it, words the error must hold).
CASES = {
    # a model that writes files
    "pt2-calls-from-file": ("model.pt2", lambda g, f: hostile.from_file_pt2(g["run"], _decoy(g), f / TARGET),
                            ("model.pt2: the program calls aten::from_file, which a NetStudio model never does",)),
    "torchscript-calls-from-file": ("model.pt", lambda g, f: hostile.from_file_torchscript(g["run"], _decoy(g), f / TARGET),
                                    ("model.pt: the TorchScript model calls aten::from_file", "net.extra.forward")),
    "torchscript-setstate-runs-on-load": ("model.pt", lambda g, f: hostile.setstate_torchscript(g["run"], f / TARGET),
                                          ("__setstate__", "runs while the file loads")),
    # zip bombs
    "pt2-weight-padded-1GiB": ("model.pt2", lambda g, f: hostile.padded_weight(g["pt2"]),
                               ("tensor data data/weights/weight_0 is compressed", "expand to 1.0 GiB")),
    "pt2-empty-weight-declared-16GiB": ("model.pt2", lambda g, f: hostile.empty_weight_declared_huge(g["pt2"]),
                                        ("tensor data weight_0 is 0 bytes but its tensors need 17,179,869,184",)),
    "pt2-metadata-inflates-1GiB": ("model.pt2", lambda g, f: hostile.inflated_metadata(g["pt2"]),
                                   ("extra/netstudio.json declares 1.0 GiB",)),
    "torchscript-storage-padded-1GiB": ("model.pt", lambda g, f: hostile.padded_storage(g["pt"]),
                                        ("tensor data data/0 is compressed",)),
    "torchscript-metadata-inflates-1GiB": ("model.pt", lambda g, f: hostile.inflated_metadata(g["pt"]),
                                           ("extra/netstudio.json declares 1.0 GiB",)),
    "pt2-512MiB-unused-bytes": ("model.pt2", None, ("bytes that nothing in the archive uses",)),
    "onnx-3GiB-sparse-file": ("model.onnx", None, ("more than a model file that is not an archive can hold",)),
    # duplicate names
    "pt2-weights-config-twice": ("model.pt2", lambda g, f: hostile.duplicate_weights_config(g["pt2"], hostile.pickled_payload(f / "ran")),
                                 ("holds data/weights/model_weights_config.json twice",)),
    "torchscript-record-twice-ignoring-case": ("model.pt", lambda g, f: hostile.case_twin_record(g["pt"]),
                                               ("holds data.pkl twice",)),
}


def _craft(case: str, genuine: dict, folder: Path, inputs: Path) -> Path:
    """The case's model file, in *inputs*; what it would write or create points into *folder*."""
    name, make, _ = CASES[case]
    path = inputs / name
    if case == "pt2-512MiB-unused-bytes":
        # a zip signature, 512 MiB of nothing, then the archive (zip readers find it from its end)
        return hostile.write_sparse(path, b"PK\x03\x04", 512 * 2**20, genuine["pt2"])
    if case == "onnx-3GiB-sparse-file":
        return hostile.write_sparse(path, b"\x08\x07", 3 * 2**30)
    path.write_bytes(make(genuine, folder))
    return path


#: Runs ARGV[3:] as a grandchild limited to ARGV[1] bytes of address space and writes its peak
#: resident memory (KiB) to ARGV[2]. A small launcher forks it because Linux carries a process's
#: peak across exec: a child forked from pytest itself would report pytest's own memory.
LAUNCHER = """
import os, resource, sys
limit, report, command = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
pid = os.fork()
if pid == 0:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (300, 300))
    os.execv(command[0], command)
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def predict_limited(model: Path, data: Path, cwd: Path) -> tuple[subprocess.CompletedProcess, int]:
    """``netstudio predict MODEL DATA`` in a process limited to :data:`ADDRESS_SPACE`; the result and
    its peak resident memory in bytes."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", MALLOC_ARENA_MAX="2")  # a thread pool or arena per core is address space
    report = cwd.parent / f"{cwd.name}.maxrss"
    command = [sys.executable, "-c", LAUNCHER, str(ADDRESS_SPACE), str(report),
               sys.executable, "-m", "netstudio", "predict", str(model), str(data)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    return result, int(report.read_text()) * 1024


@pytest.fixture(scope="module")
def outcomes(genuine, tmp_path_factory) -> dict:
    """Every case crafted in its own folder, then predicted on, four at a time (the genuine files
    too): id -> (folder, snapshot before, result, peak bytes)."""
    prepared = {}
    for case in [*CASES, "genuine-pt2", "genuine-pt"]:
        folder, inputs = tmp_path_factory.mktemp("case"), tmp_path_factory.mktemp("input")
        if case.startswith("genuine-"):
            fmt = case.split("-")[1]
            model = inputs / f"model.{fmt}"
            model.write_bytes(genuine[fmt])
        else:
            model = _craft(case, genuine, folder, inputs)
        (folder / "rows.csv").write_text(TABLE, encoding="utf-8")
        prepared[case] = (folder, model, snapshot(folder))

    def run(case: str):
        folder, model, before = prepared[case]
        return case, (folder, before, *predict_limited(model, folder / "rows.csv", folder))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, prepared))


@pytest.fixture(scope="module")
def genuine_peak(outcomes) -> int:
    """The genuine .pt2 and TorchScript files predict under the same limit; their larger peak."""
    for case in ("genuine-pt2", "genuine-pt"):
        _, _, result, _ = outcomes[case]
        assert result.returncode == 0 and result.stdout.startswith("prediction,"), result.stderr
    return max(outcomes[case][3] for case in ("genuine-pt2", "genuine-pt"))


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_model_file_is_refused_within_bounds(case, outcomes, genuine_peak):
    folder, before, result, peak = outcomes[case]
    tally("inputs")
    tally("files_fuzzed")

    print(f"{case}: exit {result.returncode}, peak {peak / 2**20:.0f} MiB (genuine {genuine_peak / 2**20:.0f} MiB), "
          f"{result.stderr.strip()[:200]}")
    line = one_error_line(result, 2)
    for words in CASES[case][2]:
        assert words in line, line
    assert result.stdout == ""
    assert not (folder / TARGET).exists(), "the model wrote a file"
    assert not (folder / "ran").exists(), "the payload ran"
    assert_nothing_lost(before, folder)
    assert peak <= genuine_peak + MARGIN, f"the refusal took {peak / 2**20:.0f} MiB"
