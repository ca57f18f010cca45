"""Shared test set-up. Qt must run offscreen, so this is set before anything imports Qt."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
# One PyTorch thread per test process (and the commands they start): pytest-xdist already runs a
# process per core, and more threads than cores make every one of them wait on the others.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo() -> Path:
    """The repository root (samples/, resources/)."""
    return REPO


@pytest.fixture(autouse=True)
def no_thread_left_running():
    """Fail any test that leaves one of NetStudio's worker threads running."""
    yield
    import sys

    tasks = sys.modules.get("netstudio.ui.tasks")
    if tasks is None:  # no Qt worker was ever used: nothing to check (and no Qt import for core tests)
        return
    alive = tasks.running_threads()
    for thread in alive:
        thread.wait(10000)
    assert not alive, f"{len(alive)} worker thread(s) still running after the test"


def pytest_testnodedown(node, error):
    """Under pytest-xdist: add each worker's reliability tally to the controller's, which
    tests/reliability/conftest.py prints at the end."""
    tally = getattr(node, "workeroutput", {}).get("reliability_tally")
    if tally:
        from tests.reliability.conftest import TALLY

        TALLY.update(tally)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from tests.reliability.conftest import report_tally

    report_tally(terminalreporter)
