"""The window's safety net: autosave to a recovery file, recovery on the next launch, and the global
exception handler that logs, autosaves, says one line and keeps the window usable.

Everything goes to a data folder under tmp_path (``install_safety_net(data_folder=...)``), never to
the user's. pytest-qt's own exception capture is switched off here: these tests install the handler
that catches what a slot raises, and check what it did.
"""

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox, QPushButton

from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.project import load_project, new_project
from netstudio.ui.errors import MAX_LOG_BYTES
from netstudio.ui.recovery import RECOVERY_KEY, find_recovery, install_safety_net, recovery_name
from netstudio.ui.window.main_window import MainWindow

pytestmark = pytest.mark.qt_no_exception_capture

Button = QMessageBox.StandardButton


@pytest.fixture
def data_folder(tmp_path):
    return tmp_path / "appdata"


@pytest.fixture
def boxes(monkeypatch):
    """Message boxes of the exception handler, recorded instead of shown: (title, text)."""
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: shown.append((title, text)))
    return shown


@pytest.fixture
def net(window, data_folder):
    """(autosaver, handler) installed on the window, as the app does, without the launch question."""
    autosaver, handler = install_safety_net(window, None, data_folder=data_folder, ask=False)
    yield autosaver, handler
    handler.uninstall()


def launch(qtbot, settings, data_folder, project=None, answer=None, monkeypatch=None):
    """What ``netstudio [PROJECT]`` does at start-up: a window, then the safety net (which may ask)."""
    asked = []
    if answer is not None:
        def question(parent, title, text, *args):
            asked.append((title, text))
            return answer
        monkeypatch.setattr(QMessageBox, "question", question)
    window = MainWindow(project, settings=settings)
    qtbot.addWidget(window, before_close_func=lambda w: w.design.mark_saved())
    window.show()
    autosaver, handler = install_safety_net(window, project.path if project else None, data_folder=data_folder)
    handler.uninstall()  # these tests are about recovery, not exceptions
    return window, autosaver, asked


def crash(window, autosaver):
    """Gone without a word, as after a crash: nothing deletes the recovery file."""
    autosaver.timer.stop()
    shiboken6.delete(autosaver)
    window.design.mark_saved()  # (so that closing the dead window does not ask)
    window.close()


def saved_project(tmp_path, layers=("Linear", "ReLU", "Linear")):
    stack = LayerStack([LayerSpec.create(t, **({"out_features": 3} if t == "Linear" else {})) for t in layers])
    project = new_project("kept")
    project.stack = stack
    project.save(tmp_path / "kept.nsproj")
    return load_project(tmp_path / "kept.nsproj")


def make_older(path, seconds=60):
    """Date *path* back, as a project saved before the crash is."""
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


# -- autosave ----------------------------------------------------------------------------------------


def test_nothing_is_written_while_the_design_is_unchanged(window, net):
    autosaver, _ = net
    autosaver.tick()
    assert autosaver.written is None and not autosaver.folder.exists()


def test_the_timer_writes_the_whole_design_while_it_has_changes(qtbot, window, data_folder):
    autosaver, handler = install_safety_net(window, None, data_folder=data_folder, interval_ms=50, ask=False)
    handler.uninstall()
    window.add_layer("Linear")
    window.design.set_param(0, "out_features", 7)
    window.design.set_input_shape((5,), undoable=True)
    with qtbot.waitSignal(autosaver.saved, timeout=5000) as blocker:
        pass
    path = data_folder / "recovery" / recovery_name(None)
    assert blocker.args == [str(path)] and autosaver.written == path
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["model"]["layers"] == [{"type": "Linear", "params": {"out_features": 7, "bias": True}}]
    assert doc["model"]["input_shape"] == [5]
    assert doc[RECOVERY_KEY]["project"] is None and doc[RECOVERY_KEY]["pid"] == os.getpid()
    assert not list(path.parent.glob(".*.tmp")), "atomic writes leave no temporary file"

    written = []
    autosaver.saved.connect(written.append)
    qtbot.wait(300)  # several ticks: an unchanged design is not written again
    assert written == []
    window.add_layer("ReLU")
    qtbot.waitUntil(lambda: bool(written), timeout=5000)
    assert [layer["type"] for layer in json.loads(path.read_text(encoding="utf-8"))["model"]["layers"]] == \
        ["Linear", "ReLU"]


def test_saving_deletes_the_recovery_file(window, net, tmp_path, monkeypatch):
    autosaver, _ = net
    window.add_layer("Linear")
    untitled = autosaver.save_now()
    assert untitled.name == recovery_name(None) and untitled.exists()
    monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "net.nsproj"), ""))
    assert window.save()
    assert not untitled.exists() and autosaver.written is None
    window.add_layer("ReLU")
    named = autosaver.save_now()
    assert named.name == recovery_name(tmp_path / "net.nsproj") and named.name.startswith("net-")
    assert json.loads(named.read_text(encoding="utf-8"))[RECOVERY_KEY]["project"] == str(tmp_path / "net.nsproj")
    assert window.save() and not named.exists()


def test_undoing_back_to_the_saved_design_deletes_it(window, net):
    autosaver, _ = net
    window.add_layer("Linear")
    path = autosaver.save_now()
    window.undo_stack.undo()
    assert not window.design.modified and not path.exists()


@pytest.mark.parametrize("answer, closes", [(Button.Discard, True), (Button.Cancel, False)])
def test_a_clean_close_deletes_it_a_cancelled_one_keeps_it(window, net, monkeypatch, answer, closes):
    autosaver, _ = net
    window.add_layer("Linear")
    path = autosaver.save_now()
    monkeypatch.setattr(QMessageBox, "question", lambda *a: answer)
    assert window.close() is closes
    assert path.exists() is not closes


def test_opening_another_project_deletes_the_discarded_changes(window, net, tmp_path, monkeypatch):
    autosaver, _ = net
    other = saved_project(tmp_path)
    window.add_layer("Linear")
    path = autosaver.save_now()
    monkeypatch.setattr(QMessageBox, "question", lambda *a: Button.Discard)
    window.open_recent(str(other.path))
    assert window.project.path == other.path and not path.exists()


def test_a_failed_autosave_says_so_and_keeps_the_window(window, data_folder):
    data_folder.mkdir()
    (data_folder / "recovery").write_text("a file where the folder should be")
    autosaver, handler = install_safety_net(window, None, data_folder=data_folder, ask=False)
    handler.uninstall()
    window.add_layer("Linear")
    assert autosaver.save_now() is None
    assert window.statusBar().currentMessage().startswith("Autosave failed: cannot write")
    window.add_layer("ReLU")
    assert len(window.design.stack) == 2


# -- recovery on the next launch ---------------------------------------------------------------------


def test_the_next_launch_offers_the_changes_and_yes_restores_them_exactly(qtbot, settings, data_folder, tmp_path,
                                                                          monkeypatch):
    project = saved_project(tmp_path)
    make_older(project.path)
    first, autosaver, asked = launch(qtbot, settings, data_folder, project)
    assert asked == []  # nothing to recover yet
    first.design.set_param(0, "out_features", 11)
    first.add_layer("Dropout")
    first.design.set_input_shape((6,), undoable=True)
    edited = first.design.stack.to_config()
    path = autosaver.save_now()
    crash(first, autosaver)
    assert path.exists() and load_project(project.path).stack.to_config() != edited

    second, autosaver, asked = launch(qtbot, settings, data_folder, load_project(project.path), Button.Yes, monkeypatch)
    assert len(asked) == 1 and asked[0][0] == "Recover Unsaved Changes?"
    assert "“kept”" in asked[0][1] and str(project.path) in asked[0][1] and "\n" not in asked[0][1]
    assert second.design.stack.to_config() == edited and second.design.input_shape == (6,)
    assert second.design.modified and second.windowTitle() == "kept* — NetStudio"
    assert second.project.path == project.path
    assert autosaver.written is not None and autosaver.written.exists()  # safe again at once
    assert len(list((data_folder / "recovery").glob("*.nsproj"))) == 1

    assert second.save()
    assert load_project(project.path).stack.to_config() == edited
    assert not list((data_folder / "recovery").glob("*.nsproj"))


def test_no_deletes_the_recovery_file_and_opens_the_saved_project(qtbot, settings, data_folder, tmp_path, monkeypatch):
    project = saved_project(tmp_path)
    make_older(project.path)
    first, autosaver, _ = launch(qtbot, settings, data_folder, project)
    first.add_layer("Dropout")
    path = autosaver.save_now()
    crash(first, autosaver)

    second, _, asked = launch(qtbot, settings, data_folder, load_project(project.path), Button.No, monkeypatch)
    assert len(asked) == 1 and not path.exists()
    assert [s.type for s in second.design.stack] == ["Linear", "ReLU", "Linear"] and not second.design.modified


def test_a_project_saved_after_the_autosave_is_not_offered(qtbot, settings, data_folder, tmp_path):
    project = saved_project(tmp_path)
    first, autosaver, _ = launch(qtbot, settings, data_folder, project)
    first.add_layer("Dropout")
    path = autosaver.save_now()
    crash(first, autosaver)
    make_older(path)  # the project file was saved later (by hand, or by another NetStudio)
    second, _, _ = launch(qtbot, settings, data_folder, load_project(project.path))  # a question would fail
    assert not second.design.modified


def test_an_untitled_design_is_offered_when_starting_without_a_project(qtbot, settings, data_folder, monkeypatch):
    first, autosaver, _ = launch(qtbot, settings, data_folder)
    first.new_from_template("first-network")
    first.add_layer("Dropout")
    edited = first.design.stack.to_config()
    autosaver.save_now()
    crash(first, autosaver)
    second, _, asked = launch(qtbot, settings, data_folder, None, Button.Yes, monkeypatch)
    assert len(asked) == 1 and "“first-network”" in asked[0][1] and "an unsaved design" in asked[0][1]
    assert second.design.stack.to_config() == edited and second.project.path is None and second.design.modified


@pytest.mark.parametrize("answer", [Button.Yes, Button.No])
def test_opening_a_project_later_offers_its_changes_too(qtbot, settings, data_folder, tmp_path, monkeypatch, answer):
    project = saved_project(tmp_path)
    make_older(project.path)
    first, autosaver, _ = launch(qtbot, settings, data_folder, project)
    first.add_layer("Dropout")
    edited = first.design.stack.to_config()
    path = autosaver.save_now()
    crash(first, autosaver)

    other = tmp_path / "other"
    other.mkdir()
    started_with = saved_project(other, ("Linear",))  # the launch looks for this project's changes only
    second, autosaver, asked = launch(qtbot, settings, data_folder, started_with, answer, monkeypatch)
    assert asked == []
    assert second.open_project(project.path)
    assert len(asked) == 1 and asked[0][0] == "Recover Unsaved Changes?" and str(project.path) in asked[0][1]
    if answer == Button.Yes:
        assert second.design.stack.to_config() == edited and second.design.modified
        assert second.project.path == project.path
        assert autosaver.written is not None and autosaver.written.exists()  # safe again at once
        assert len(list((data_folder / "recovery").glob("*.nsproj"))) == 1
    else:
        assert [s.type for s in second.design.stack] == ["Linear", "ReLU", "Linear"] and not second.design.modified
        assert not path.exists()
    second.design.mark_saved()
    assert second.open_project(project.path) and len(asked) == 1  # asked once: nothing left to offer


def test_damaged_recovery_files_are_skipped(data_folder, tmp_path):
    folder = data_folder / "recovery"
    folder.mkdir(parents=True)
    (folder / "truncated-1.nsproj").write_text('{"format": "netstudio-project", "vers')
    (folder / "plain-project-2.nsproj").write_text(json.dumps({"format": "netstudio-project", "version": 1}))
    (folder / "bad-layer-3.nsproj").write_text(json.dumps({
        "format": "netstudio-project", "version": 1, "model": {"layers": [{"type": "Nope"}]},
        RECOVERY_KEY: {"project": None, "pid": 3}}))
    assert find_recovery(folder) is None


HOLDER = textwrap.dedent("""
    import os, sys
    from PySide6.QtCore import QLockFile
    lock = QLockFile(os.path.join(sys.argv[1], f"instance-{os.getpid()}.lock"))
    lock.setStaleLockTime(0)
    assert lock.tryLock(0)
    print(os.getpid(), flush=True)
    sys.stdin.readline()
    os._exit(0)  # like a crash: the lock file stays behind
""")


def test_a_netstudio_still_running_keeps_its_recovery_file(window, net, data_folder):
    """A second NetStudio started meanwhile must not offer (or delete) the first one's changes."""
    autosaver, _ = net
    window.add_layer("Linear")
    path = autosaver.save_now()
    folder = data_folder / "recovery"
    other = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        pid = int(other.stdout.readline())
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc[RECOVERY_KEY]["pid"] = pid
        theirs = folder / recovery_name(None, pid)
        theirs.write_text(json.dumps(doc), encoding="utf-8")
        assert find_recovery(folder, None).path == path  # ours (this process is "the next launch" here)
        path.unlink()
        assert find_recovery(folder, None) is None, "the running one's file was offered"
    finally:
        other.communicate("\n", timeout=30)
    assert (folder / f"instance-{pid}.lock").exists()  # it died without cleaning up
    assert find_recovery(folder, None).path == theirs
    assert not (folder / f"instance-{pid}.lock").exists()


# -- unexpected exceptions -----------------------------------------------------------------------------


def raise_in_a_slot():
    raise ValueError("the slot failed\nwith a second line")


def test_an_exception_in_a_slot_is_logged_autosaved_reported_and_the_window_goes_on(qtbot, window, net, boxes):
    autosaver, handler = net
    window.add_layer("Linear")
    button = QPushButton("Fail", window)
    button.clicked.connect(raise_in_a_slot)
    with qtbot.waitSignal(handler.reported, timeout=5000) as blocker:
        button.click()
    log = handler.log_path.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in log and "in raise_in_a_slot" in log
    assert "ValueError: the slot failed\nwith a second line" in log and "thread MainThread" in log
    [(title, text)] = boxes
    assert title == "Unexpected Error" and text == blocker.args[0] and "\n" not in text
    assert text.startswith("Something went wrong: ValueError: the slot failed with a second line. NetStudio keeps")
    assert str(handler.log_path) in text
    assert text.endswith(" Your unsaved changes were saved to a recovery file.") and autosaver.written is not None
    doc = json.loads(autosaver.written.read_text(encoding="utf-8"))
    assert [layer["type"] for layer in doc["model"]["layers"]] == ["Linear"]

    window.add_layer("ReLU")  # still usable
    assert [s.type for s in window.design.stack] == ["Linear", "ReLU"] and window.design.validation.valid
    with qtbot.waitSignal(handler.reported, timeout=5000):
        QTimer.singleShot(0, lambda: {}["a key that is not there"])
    assert len(boxes) == 2 and boxes[1][1].startswith("Something went wrong: KeyError: 'a key that is not there'.")
    assert handler.count == 2 and log.count("Traceback") == 1
    assert handler.log_path.read_text(encoding="utf-8").count("Traceback") == 2


def test_an_exception_in_a_worker_thread_reaches_the_handler(qtbot, window, net, boxes):
    _, handler = net

    def work():
        raise OSError(28, "No space left on device")

    thread = threading.Thread(target=work, name="a-background-thread")
    with qtbot.waitSignal(handler.reported, timeout=5000):
        thread.start()
    thread.join()
    assert "thread a-background-thread" in handler.log_path.read_text(encoding="utf-8")
    assert boxes[0][1].startswith("Something went wrong: OSError: [Errno 28] No space left on device.")
    assert "recovery file" not in boxes[0][1]  # nothing was unsaved


def test_the_same_error_again_goes_to_the_status_bar_not_another_box(qtbot, window, net, boxes):
    _, handler = net
    for _ in range(3):
        with qtbot.waitSignal(handler.reported, timeout=5000):
            QTimer.singleShot(0, raise_in_a_slot)
    assert len(boxes) == 1 and handler.count == 3
    assert window.statusBar().currentMessage().startswith("Again: ValueError: the slot failed")


def test_an_unwritable_log_is_said_and_a_full_one_rotated(qtbot, window, data_folder, boxes):
    data_folder.mkdir()
    (data_folder / "logs").write_text("a file where the folder should be")
    _, handler = install_safety_net(window, None, data_folder=data_folder, ask=False)
    try:
        with qtbot.waitSignal(handler.reported, timeout=5000):
            QTimer.singleShot(0, raise_in_a_slot)
        assert "the log could not be written to" in boxes[0][1]
    finally:
        handler.uninstall()
    (data_folder / "logs").unlink()
    (data_folder / "logs").mkdir()
    handler.log_path.write_text("x" * (MAX_LOG_BYTES + 1))
    with qtbot.waitSignal(handler.reported, timeout=5000):
        handler.handle(RuntimeError("late"))
    assert handler.log_path.with_name("netstudio.log.1").stat().st_size == MAX_LOG_BYTES + 1
    assert handler.log_path.read_text(encoding="utf-8").count("RuntimeError: late") == 1


def test_uninstall_puts_the_previous_hooks_back(window, data_folder):
    before = (sys.excepthook, threading.excepthook)
    _, handler = install_safety_net(window, None, data_folder=data_folder, ask=False)
    assert sys.excepthook == handler._on_exception and threading.excepthook == handler._on_thread_exception
    handler.uninstall()
    assert (sys.excepthook, threading.excepthook) == before
