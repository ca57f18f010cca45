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


def test_augmentation_settings_and_their_preview_grid(qtbot, window, repo, tmp_path):
    from netstudio.ui.data.panel import AUGMENT_DRAWS, AUGMENT_ROWS

    panel = window.workflow.data_panel
    with qtbot.waitSignal(panel.dataset_loaded, timeout=60000):
        panel.open_path(repo / "samples" / "shapes")
    assert not panel.augment_box.isHidden()
    assert panel.tabs.isTabVisible(panel.tabs.indexOf(panel.augmented)) and panel.augmented.count() == 1
    loaded = panel.loaded
    panel.rotate.setValue(20)
    panel.hflip.setChecked(True)
    assert window.project.data["augment"] == {"hflip": True, "vflip": False, "rotate": 20.0, "shift": 0.0,
                                              "brightness": 0.0, "contrast": 0.0}
    assert panel.loaded is loaded and not panel.is_loading  # the dataset stays: augmenting changes batches only
    assert panel.augmented.count() == AUGMENT_ROWS * (1 + AUGMENT_DRAWS)
    assert panel.augmented.item(0).text() == "1: original" and panel.augmented.item(1).text() == "1: draw 1"
    with qtbot.waitSignal(panel.dataset_loaded, timeout=60000):
        panel.open_path(imbalanced_csv(tmp_path))
    assert panel.augment_box.isHidden() and not panel.tabs.isTabVisible(panel.tabs.indexOf(panel.augmented))



def test_the_evaluation_view_switches_between_validation_and_the_test_split(qtbot):
    from netstudio.core.config import validate_data
    from netstudio.core.design.stack import LayerSpec, LayerStack
    from netstudio.core.project import new_project
    from netstudio.core.training.evaluation import EvaluationProbe
    from netstudio.core.training.session import prepare_session
    from netstudio.ui.plots.evaluation_view import EvaluationView

    project = new_project("split")
    project.data = validate_data({"source": "synthetic", "kind": "moons", "samples": 300, "test_split": 0.2})
    project.stack = LayerStack([LayerSpec.create("Linear", out_features=8), LayerSpec.create("ReLU"),
                                LayerSpec.create("Linear", out_features="auto")])
    project.training.update(epochs=2, device="cpu")
    session = prepare_session(project)
    reports = []
    summary = session.fit([EvaluationProbe(session, reports.append)])
    assert [r.split for r in reports][-2:] == ["val", "test"] and "test" not in [r.split for r in reports[:-1]]
    view = EvaluationView()
    qtbot.addWidget(view)
    view.set_dataset(session.dataset)
    assert not view.split_row.isHidden()
    for report in reports[:-1]:
        view.show_report(report)
    assert not view.split_choice.model().item(1).isEnabled()  # no test report until training ends
    view.show_report(reports[-1])
    assert view.report.split == "val" and "60 validation samples" in view.accuracy.text()
    view.split_choice.setCurrentIndex(1)
    test = reports[-1]
    assert view.report is test and f"{test.accuracy:.2%}</b> on 60 test samples" in view.accuracy.text()
    assert test.accuracy == summary.test["test_accuracy"]
    assert int(view.confusion_model.report.matrix.sum()) == 60
    view.show_cell(0, 1)  # an empty cell lists nothing
    true, predicted = np.unravel_index(int(np.argmax(test.matrix)), test.matrix.shape)
    rows = view.show_cell(int(true), int(predicted))
    assert len(rows) and list(rows) == list(test.cell_samples(int(true), int(predicted))) and view.samples_table.rowCount() == min(len(rows), 60)
    view.split_choice.setCurrentIndex(0)
    assert view.report.split == "val"
