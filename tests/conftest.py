"""Shared test set-up. Qt must run offscreen, so this is set before anything imports Qt."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

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
