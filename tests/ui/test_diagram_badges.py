"""The diagram's live badges while training (issue 21): a real run on the iris sample puts each
layer's reading from the Inside view's snapshots on its node; an edit or a new run clears them."""

from __future__ import annotations

from netstudio.core.design.stack import LayerSpec
from netstudio.core.training.badges import live_badges
from tests.ui.test_workflow import iris_project, open_with_data, train  # noqa: F401 - a fixture


def test_a_run_badges_the_nodes_and_an_edit_clears_them(qtbot, window, iris_project):  # noqa: F811
    workflow = open_with_data(qtbot, window, iris_project)
    view = window.diagram_view
    window.design_tabs.setCurrentWidget(view)
    snapshots = []
    workflow.inside_controller.signals.snapshot_ready.connect(snapshots.append)
    train(qtbot, workflow, epochs=2)
    last = snapshots[-1]
    assert [s.type for s in window.design.stack] == ["Linear", "ReLU", "Linear"]
    fc1, relu1 = last.layer("fc1"), last.layer("relu1")
    assert view.badge_text((0,)) == f"∇ {fc1.gradient_norm:.2g}"
    assert view.badge_text((1,)) == f"dead {round(100 * relu1.stats.dead_fraction)} %"
    assert view.badge_text((2,)) is not None and view.badge_text((2,)).startswith("∇ ")
    assert "live: gradient norm" in view.diagram_scene.nodes[(0,)].toolTip()

    view.clear_badges()  # what a new run does first
    assert view.badge_text((0,)) is None
    view.show_snapshot(last, list(workflow.controller.session.project.stack))
    assert view.badge_text((0,)) is not None
    window.design.set_param_at((0,), "out_features", 12)  # an edit: the readings were of the old model
    assert all(view.badge_text(p) is None for p in view.diagram_scene.nodes)
    view.show_snapshot(last, list(workflow.controller.session.project.stack))  # a late snapshot of it
    assert view.badge_text((0,)) is None


def test_an_alert_badge_is_drawn_amber(window):
    import torch

    from netstudio.core.design.builder import build_model
    from netstudio.core.training.inspection import take_snapshot

    specs = [LayerSpec.create("Linear", out_features=8), LayerSpec.create("ReLU"), LayerSpec.create("Linear", out_features=2)]
    window.design.load(specs, (4,))
    model = build_model(window.design.stack, (4,), seed=0)
    with torch.no_grad():
        model.fc1.bias.fill_(-100.0)  # every unit of relu1 dead
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(0))
    snapshot = take_snapshot(model, x[:1], x)
    view = window.diagram_view
    view.show_snapshot(snapshot)
    assert view.badge_text((1,)) == "dead 100 %"
    item = view.diagram_scene.nodes[(1,)]
    assert item.badge.alert and item.badge == live_badges(snapshot, specs)[(1,)]
    assert item.boundingRect().contains(item.badge_rect())  # painted inside what the item repaints
    view.rebuild()  # a theme switch draws again and keeps the readings
    assert view.badge_text((1,)) == "dead 100 %"
