"""The window's side of training depth: the imbalance fix, the test split, curves, resume."""

import numpy as np
from PySide6.QtCore import QUrl

from netstudio.ui.data.preview import CLASS_WEIGHTS_LINK


def imbalanced_csv(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["x1,x2,label"] + [f"{a:.3f},{b:.3f},{'rare' if i < 20 else 'common'}"
                              for i, (a, b) in enumerate(rng.normal(size=(240, 2)))]
    path = tmp_path / "imbalanced.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_the_imbalance_warning_offers_class_weights(qtbot, window, tmp_path):
    workflow = window.workflow
    with qtbot.waitSignal(workflow.data_panel.dataset_loaded, timeout=60000):
        workflow.data_panel.open_path(imbalanced_csv(tmp_path))
    html = workflow.data_panel.summary.toHtml()
    assert "imbalanced" in html and CLASS_WEIGHTS_LINK in html
    assert window.project.training.get("class_weights") is None
    workflow.data_panel.summary.anchorClicked.emit(QUrl(CLASS_WEIGHTS_LINK))
    assert workflow.training_panel.balance.isChecked()
    assert workflow.training_panel.config()["class_weights"] == "auto"
    assert window.project.training["class_weights"] == "auto"
