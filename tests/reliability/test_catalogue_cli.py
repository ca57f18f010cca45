"""The catalogue through the command line: each bad input, in a subprocess, in a folder of its own.

Each case must end with the documented exit status and exactly one stderr line,
``netstudio: error: ...``, holding the expected words; every file that was in the folder before
is unchanged afterwards (hashed), and no temporary file is left. The cases run four at a time
(they are subprocesses) in one module fixture; each test then checks its own result.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.reliability.catalogue import TABLE, cli_cases, project_doc, write_project
from tests.reliability.conftest import (
    assert_nothing_lost,
    netstudio,
    one_error_line,
    snapshot,
    tally,
)

# The module fixture (a trained run) is built once: every test of this file runs in the same
# xdist process.
pytestmark = pytest.mark.xdist_group("test_catalogue_cli")

CASES = cli_cases()


def read_only_wrapper(folder: Path, relative: str) -> list[str] | None:
    """How to run a command with *relative* unwritable, even as root (where permission bits do not
    stop writes): a read-only bind mount in a private mount namespace (``unshare -m``), which
    vanishes with the command. None where that is impossible (then chmod 0555 must do: non-root)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind -o ro {relative} {relative} && "
                            f"! touch {relative}/.probe 2>/dev/null"], cwd=folder, capture_output=True)
    if probe.returncode != 0:
        return None
    return ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', relative]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A trained run on a small table and its model files (.pt2, .pt), made once in-process."""
    from netstudio.core.export.exporter import export_run, write_run_models
    from netstudio.core.project import load_project
    from netstudio.core.runs.folder import save_run
    from netstudio.core.training.session import prepare_session

    folder = tmp_path_factory.mktemp("shared")
    (folder / "table.csv").write_text(TABLE, encoding="utf-8")
    write_project(folder, project_doc({"source": "csv", "path": "table.csv", "target": "label"}))
    session = prepare_session(load_project(folder / "p.nsproj"), device="cpu")
    run = save_run(session, session.fit(), folder / "run", write_models=write_run_models)
    export_run(run, "torchscript", folder / "model.pt")
    return {"run": run, "pt2": run / "model.pt2", "pt": folder / "model.pt", "folder": folder}


@pytest.fixture(scope="module")
def results(shared, tmp_path_factory):
    """Every case set up, then run (four subprocesses at a time): id -> (folder, before, result)."""
    prepared = {}
    for case in CASES:
        folder = tmp_path_factory.mktemp("case")
        argv = case.setup(folder, shared)
        wrap: list[str] | None = []
        if case.readonly is not None:
            wrap = read_only_wrapper(folder, case.readonly)
            if wrap == []:
                os.chmod(folder / case.readonly, 0o555)
        prepared[case.id] = (case, folder, argv, wrap, snapshot(folder))

    def run(item):
        case, folder, argv, wrap, before = item
        if wrap is None:
            return case.id, (folder, before, None)
        started = time.perf_counter()
        result = netstudio(*argv, cwd=folder, prelude=case.prelude, wrap=wrap or None, timeout=600)
        if os.environ.get("NETSTUDIO_CATALOGUE_TIMES"):
            print(f"{time.perf_counter() - started:6.2f}s {case.id}")
        return case.id, (folder, before, result)

    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(pool.map(run, prepared.values()))
    for case, folder, *_ in prepared.values():
        if case.readonly is not None and os.geteuid() != 0:
            os.chmod(folder / case.readonly, 0o755)
    return done


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_one_line_the_exit_code_and_loses_nothing(case, results):
    folder, before, result = results[case.id]
    if result is None:
        pytest.skip("cannot make a folder read-only here (root without mount namespaces)")
    tally("inputs")
    if case.prelude is not None or case.readonly is not None:
        tally("faults")
    if case.code == 0:
        assert result.returncode == 0, result.stderr
    else:
        line = one_error_line(result, case.code)
        for needle in case.needles:
            assert needle in line, line
        if case.code == 2 and "internal error" in line:
            pytest.fail(f"a bad input must not be an internal error: {line}")
    assert_nothing_lost(before, folder, case.new)
