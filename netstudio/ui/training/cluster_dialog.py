"""Train on a cluster: the exact ``torchrun`` commands for the saved project, ready to copy."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from netstudio.core.errors import NetStudioError


class ClusterDialog(QDialog):
    """Shows the single-node and multi-node ``torchrun`` command lines for *project_path*."""

    def __init__(self, project_path: str | Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Train on a Cluster")
        self.setObjectName("clusterDialog")
        self.project_path = Path(project_path)
        self.nproc = QSpinBox(minimum=1, maximum=1024, value=2)
        self.nproc.setToolTip("Processes per machine: usually its number of GPUs")
        self.nnodes = QSpinBox(minimum=1, maximum=100000, value=2)
        self.nnodes.setToolTip("Machines taking part in the multi-node run")
        self.addr = QLineEdit("127.0.0.1")
        self.addr.setToolTip("An address of the first machine that all the others can reach")
        self.port = QSpinBox(minimum=1, maximum=65535, value=29500)
        form = QFormLayout()
        form.addRow("GPUs (processes) per machine", self.nproc)
        form.addRow("Machines", self.nnodes)
        form.addRow("First machine's address", self.addr)
        form.addRow("Port", self.port)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.single = QPlainTextEdit(readOnly=True)
        self.multi = QPlainTextEdit(readOnly=True)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c0392b")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The same project trains under PyTorch's own launcher with DistributedDataParallel "
                                "(NCCL on GPUs, Gloo on CPUs). Only the first process prints and saves the run."))
        layout.addLayout(form)
        for title, box in (("One machine:", self.single), ("Several machines (run on each):", self.multi)):
            box.setFont(mono)
            box.setMaximumHeight(80)
            copy = QPushButton("Copy")
            copy.clicked.connect(lambda _=False, b=box: QGuiApplication.clipboard().setText(b.toPlainText()))
            row = QHBoxLayout()
            row.addWidget(QLabel(title), 1)
            row.addWidget(copy)
            layout.addLayout(row)
            layout.addWidget(box)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        for spin in (self.nproc, self.nnodes, self.port):
            spin.valueChanged.connect(lambda _v: self.refresh())
        self.addr.textChanged.connect(lambda _t: self.refresh())
        self.refresh()
        self.resize(720, 420)

    def refresh(self) -> None:
        from netstudio.core.training.distributed import cluster_commands

        try:
            commands = cluster_commands(self.project_path, self.nproc.value(), self.nnodes.value(),
                                        self.addr.text(), self.port.value())
        except NetStudioError as exc:
            self.error.setText(str(exc))
            return
        self.error.clear()
        self.single.setPlainText(commands["single_node"])
        self.multi.setPlainText(commands["multi_node"])
