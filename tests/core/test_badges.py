"""The diagram's live badges (issue 21): every path of a design names its module in the built
model, inside blocks too, and a real snapshot gives each layer its reading (gradient norm, dead
units, saturation), amber where the diagnoses would speak up."""

from __future__ import annotations

import torch

from netstudio.core.design.builder import build_model, module_paths
from netstudio.core.design.stack import LayerStack
from netstudio.core.training.badges import live_badges
from netstudio.core.training.inspection import take_snapshot
from tests.core.test_diagram import MIXED, all_paths


def snapshot_after_a_step(model, x):
    model.zero_grad()
    model(x).square().mean().backward()
    return take_snapshot(model, x[:1], x, step=7)


def test_every_path_names_its_module_in_the_built_model():
    stack = LayerStack.from_config(MIXED)
    model = build_model(stack, (3, 8, 8), seed=0)
    names = module_paths(list(stack))
    assert sorted(names) == sorted(all_paths(list(stack)))
    for path, name in names.items():
        module = model.get_submodule(name)
        assert type(module).__name__ in (stack.node(path).type, "Sequential", "Recurrent") or \
            stack.node(path).type.lower() in type(module).__name__.lower()
    assert names[(1, 0, 1)] == "res1.body.relu1"
    assert names[(2, 2, 0)] == "parallel1.branches.2.conv1"
    assert names[(3, 0, 0)] == "repeat1.copy1.res1"


def test_a_real_snapshot_gives_gradient_norms_and_dead_units():
    stack = LayerStack.from_config(MIXED)
    model = build_model(stack, (3, 8, 8), seed=0)
    x = torch.randn(16, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    snapshot = snapshot_after_a_step(model, x)
    badges = live_badges(snapshot, list(stack))
    conv = snapshot.layer("conv1")
    assert badges[(0,)].text == f"∇ {conv.gradient_norm:.2g}" and not badges[(0,)].alert
    assert "step 7" in badges[(0,)].tooltip
    relu = snapshot.layer("res1.body.relu1")
    assert badges[(1, 0, 1)].text == f"dead {round(100 * relu.stats.dead_fraction)} %"
    assert (1,) in badges and badges[(1,)].text.startswith("∇ ")  # a block: its whole inside
    assert (4,) not in badges  # Flatten: no parameters, no unit statistics


def test_dead_and_saturated_units_are_alerts():
    stack = LayerStack.from_config([{"type": "Linear", "params": {"out_features": 8}}, {"type": "ReLU", "params": {}},
                                    {"type": "Linear", "params": {"out_features": 8}}, {"type": "Sigmoid", "params": {}},
                                    {"type": "Linear", "params": {"out_features": 2}}])
    model = build_model(stack, (4,), seed=0)
    with torch.no_grad():
        model.fc1.bias.fill_(-100.0)  # every unit of relu1 dead
        model.fc2.bias.fill_(50.0)    # every output of sigmoid1 saturated
    snapshot = snapshot_after_a_step(model, torch.randn(32, 4, generator=torch.Generator().manual_seed(1)))
    badges = live_badges(snapshot, list(stack))
    assert badges[(1,)].text == "dead 100 %" and badges[(1,)].alert
    assert badges[(3,)].text == "sat 100 %" and badges[(3,)].alert
