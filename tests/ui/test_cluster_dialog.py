"""Train > Train on a Cluster…: saves the project first, then shows torchrun lines to copy."""

import json
import shlex
import shutil
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QMessageBox, QPushButton

from netstudio.ui.training.cluster_dialog import ClusterDialog

REPO = Path(__file__).resolve().parents[2]


def shown_dialogs(monkeypatch):
    """Record the cluster dialogs the window opens instead of running them modally."""
    shown = []

    def record(dialog, *args):
        shown.append(dialog)
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(QDialog, "exec", record)
    return shown


def test_commands_name_the_saved_project_and_follow_the_settings(qtbot, tmp_path):
    project = tmp_path / "my project.nsproj"
    shutil.copy(REPO / "samples" / "iris.nsproj", project)
    dialog = ClusterDialog(project)
    qtbot.addWidget(dialog)
    dialog.nproc.setValue(4)
    dialog.nnodes.setValue(3)
    dialog.addr.setText("10.0.0.7")
    dialog.port.setValue(29511)

    single = shlex.split(dialog.single.toPlainText())
    multi = shlex.split(dialog.multi.toPlainText())
    assert single[0] == "torchrun" and "--nproc_per_node=4" in single and "--standalone" in single
    assert single[-3:] == ["netstudio", "train", str(project)]  # quoted: the name has a space
    assert "--nnodes=3" in multi and "--rdzv_endpoint=10.0.0.7:29511" in multi and "--nproc_per_node=4" in multi
    assert multi[-1] == str(project)

    copy = [b for b in dialog.findChildren(QPushButton) if b.text() == "Copy"]
    copy[1].click()
    assert QGuiApplication.clipboard().text() == dialog.multi.toPlainText()


def test_an_impossible_address_is_said_and_the_last_good_lines_stay(qtbot, tmp_path):
    project = tmp_path / "p.nsproj"
    shutil.copy(REPO / "samples" / "iris.nsproj", project)
    dialog = ClusterDialog(project)
    qtbot.addWidget(dialog)
    before = dialog.multi.toPlainText()
    dialog.addr.setText("")
    assert dialog.error.text()  # one line saying what is wrong
    assert dialog.multi.toPlainText() == before
    dialog.addr.setText("node0")
    assert not dialog.error.text() and "node0:29500" in dialog.multi.toPlainText()


def test_an_unsaved_design_is_saved_before_the_commands_are_shown(qtbot, window, tmp_path, monkeypatch):
    shown = shown_dialogs(monkeypatch)
    target = tmp_path / "cluster.nsproj"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getSaveFileName", lambda *a, **k: (str(target), ""))
    window.mark_modified()

    window.workflow.cluster.trigger()

    assert target.is_file() and json.loads(target.read_text(encoding="utf-8"))["format"] == "netstudio-project"
    assert not window.design.modified
    assert len(shown) == 1 and str(target) in shown[0].single.toPlainText()


def test_declining_to_save_shows_nothing(qtbot, window, monkeypatch):
    shown = shown_dialogs(monkeypatch)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    window.workflow.cluster.trigger()
    assert shown == [] and window.project.path is None
