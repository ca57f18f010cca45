"""Shared pieces of the reliability suite: the tally it reports, folder snapshots, the CLI runner.

Every test here counts what it does in :data:`TALLY`:

``inputs``        bad inputs tried (catalogue cases, fuzzed documents and files, injected faults)
``faults``        faults injected into a running NetStudio (out of memory, exceptions in slots,
                  failed writes, closes mid-operation, unwritable targets)
``files_fuzzed``  random or mutated files written to disk and read by NetStudio
``snapshots``     folders hashed before and after a failing operation
``lost``          pre-existing files changed or removed by a failure (must stay 0)

The totals are printed at the end of the run ("reliability: ...", added up over pytest-xdist's
processes) and, when the environment
variable ``NETSTUDIO_RELIABILITY_REPORT`` names a file, written there as JSON.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from tests.commands import netstudio  # noqa: F401 - the tests import it from here

TALLY: Counter = Counter()
REPO = Path(__file__).resolve().parents[2]


def tally(key: str, n: int = 1) -> None:
    TALLY[key] += n


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """``{relative path: (sha256, mode)}`` of every file under *folder*."""
    found = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not path.is_symlink():
            found[path.relative_to(folder).as_posix()] = (hashlib.sha256(path.read_bytes()).hexdigest(),
                                                         path.stat().st_mode & 0o777)
    return found


def assert_nothing_lost(before: dict, folder: Path, new: tuple[str, ...] = ()) -> None:
    """Every file of *before* is still there, byte for byte; new files only match *new* (globs);
    no temporary file (``.name.*.tmp``, ``.run.*/``) is left behind."""
    tally("snapshots")
    after = snapshot(folder)
    changed = [p for p, digest in before.items() if after.get(p) != digest]
    tally("lost", len(changed))
    assert not changed, f"pre-existing files changed or removed: {changed}"
    added = [p for p in after if p not in before]
    leftovers = [p for p in added if any(part.startswith(".") for part in p.split("/"))]
    assert not leftovers, f"temporary files left behind: {leftovers}"
    unexpected = [p for p in added if not any(fnmatch.fnmatch(p, pattern) for pattern in new)]
    assert not unexpected, f"unexpected new files: {unexpected}"


def one_error_line(result, code: int) -> str:
    """The failed command's only stderr line (``netstudio: error: ...``), after checking the exit code."""
    assert result.returncode == code, f"exit {result.returncode}, wanted {code}: {result.stderr}{result.stdout[-500:]}"
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"stderr is not one line: {result.stderr!r}"
    assert lines[0].startswith("netstudio: error: "), lines[0]
    return lines[0]


def pytest_sessionfinish(session):
    """In a pytest-xdist worker: hand this process's tally to the controller (tests/conftest.py)."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["reliability_tally"] = dict(TALLY)


def report_tally(terminalreporter) -> None:
    """Print the totals (tests/conftest.py calls it at the end of the run, in the controller when
    the tests run in several processes)."""
    if not TALLY:
        return
    line = (f"reliability: {TALLY['inputs']:,} bad inputs tried, {TALLY['faults']:,} faults injected, "
            f"{TALLY['files_fuzzed']:,} files fuzzed; {TALLY['snapshots']:,} folder snapshots compared, "
            f"{TALLY['lost']} files lost or changed")
    terminalreporter.write_sep("-", "reliability tally")
    terminalreporter.write_line(line)
    target = os.environ.get("NETSTUDIO_RELIABILITY_REPORT")
    if target:
        Path(target).write_text(json.dumps(dict(TALLY), indent=2) + "\n", encoding="utf-8")


@pytest.fixture
def counted():
    """The tally, for tests that count what they try."""
    return tally
