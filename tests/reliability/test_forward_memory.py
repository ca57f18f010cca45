"""Forward passes outside the training step stay within the memory guard's budget.

The review's cases: validation ran chunks of up to 65,536 rows sized from the input alone (a design
that widens its input, whose training needed MBs, peaked at 5.5-6.3 GB after its first epoch);
``predict`` ran 1,024 rows whatever the design; the window's decision boundary predicted a
3,600-point grid (15 GB). Every one of them now takes its chunk from the guard
(:mod:`netstudio.core.design.memory`): a design's training-step estimate is the budget, with a floor
for small designs and a cap of a share of the machine's memory.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from netstudio.core.design.builder import build_model
from netstudio.core.design.memory import (
    FORWARD_FLOOR,
    FORWARD_SHARE,
    MAX_FORWARD_ROWS,
    forward_budget,
    forward_rows,
)
from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.export.model import build_exported_model
from netstudio.core.export.safe_load import UNKNOWN_DESIGN_ROWS, LoadedModel
from netstudio.core.training.evaluation import BoundaryGrid, boundary_field
from netstudio.core.training.metrics import predict_raw
from tests.reliability.conftest import tally

S = LayerSpec.create
GiB = 2**30
#: One row of this design makes 2 + 65,536 + 65,536 + 3 values in a forward pass (512 KB).
WIDE = [S("Linear", out_features=65536), S("ReLU"), S("Linear", out_features="auto")]


def wide_metadata(layers=WIDE) -> dict:
    return {"format": "netstudio-model", "task": "multiclass", "classes": ["a", "b", "c"], "input_shape": [2],
            "output_width": 3, "output_transform": "softmax", "layers": LayerStack(layers).to_config()}


def test_the_budget_is_the_guards_training_estimate_between_a_floor_and_a_share_of_memory():
    tally("inputs")
    limit = 64 * GiB
    assert forward_budget(0, limit) == FORWARD_FLOOR            # unknown design: the floor
    assert forward_budget(10 * 2**20, limit) == FORWARD_FLOOR   # a small design's step is below it
    assert forward_budget(3 * GiB, limit) == 3 * GiB            # a big one may use what its step uses
    assert forward_budget(40 * GiB, limit) == limit // FORWARD_SHARE
    assert forward_budget(0, 2**20) == 2**20 // FORWARD_SHARE   # a tiny machine: the share, not the floor
    assert forward_rows(8, 0, limit) == MAX_FORWARD_ROWS
    assert forward_rows(10 * GiB, 0, limit) == 1                # a row beyond the budget: one at a time


def test_validation_counts_one_rows_forward_values_inside_blocks_too():
    tally("inputs")
    ten = {"type": "Linear", "params": {"out_features": 10}}
    layers = [ten, {"type": "Residual", "layers": [ten, {"type": "ReLU"}]},
              {"type": "Linear", "params": {"out_features": 3}}]
    validation = LayerStack.from_config(layers).validate((4,), 3)
    assert validation.valid, validation.first_error()
    # input 4, Linear 10, inside the Residual 10 + 10, the Residual's own output 10, Linear 3
    assert validation.row_bytes == 4 * (4 + 10 + 10 + 10 + 10 + 3)
    budget = forward_budget(validation.memory_bytes)
    assert validation.forward_rows() == min(MAX_FORWARD_ROWS, budget // validation.row_bytes)


def test_a_design_with_huge_rows_predicts_in_small_chunks():
    """``netstudio predict``'s chunks come from the design in the model file's metadata: 1,024
    rows of the wide design were 512 MB a chunk; now each chunk stays within the budget."""
    tally("inputs")
    validation = LayerStack(WIDE).validate((2,), 3)
    assert validation.row_bytes == 4 * (2 + 65536 + 65536 + 3)
    seen: list[int] = []

    def call(x: np.ndarray) -> np.ndarray:
        seen.append(len(x))
        return np.zeros((len(x), 3), dtype=np.float32)

    wide = LoadedModel("pt2", "wide.pt2", wide_metadata(), call)
    out = wide.run(np.zeros((1000, 2), dtype=np.float32))
    assert out.shape == (1000, 3) and sum(seen) == 1000
    assert max(seen) == wide.chunk_rows() == validation.forward_rows() < 1024
    assert max(seen) * validation.row_bytes <= forward_budget(validation.memory_bytes)
    small = LoadedModel("pt2", "small.pt2", wide_metadata([S("Linear", out_features=3)]), call)
    assert small.chunk_rows() > 1024, "a small design runs larger chunks than the old fixed 1,024"
    foreign = LoadedModel("onnx", "foreign.onnx", {**wide_metadata(), "layers": [{"type": "Nope"}]}, call)
    assert foreign.chunk_rows() == UNKNOWN_DESIGN_ROWS, "no valid design: sized from the input, at most 1,024"


def test_an_exported_model_predicts_in_chunks_its_measured_rows_allow():
    tally("inputs")
    net = build_model(LayerStack(WIDE), (2,), 3, seed=0)
    model = build_exported_model(net, wide_metadata())
    seen: list[int] = []
    model.net.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape[0]))
    X = np.random.default_rng(0).normal(size=(300, 2)).astype(np.float32)
    out = model.predict(X)
    assert out.shape == (300, 3)
    row_bytes = 4 * (2 + 2 + 65536 + 65536 + 3 + 3)  # preprocessing and output transform measured too
    assert max(seen[1:]) * row_bytes <= FORWARD_FLOOR and max(seen[1:]) < 300, seen[:4]
    np.testing.assert_allclose(out, model(torch.from_numpy(X)).detach().numpy(), atol=1e-6)


def test_validation_batches_are_sized_by_every_layers_outputs():
    tally("inputs")
    model = nn.Sequential(nn.Linear(2, 4096), nn.ReLU(), nn.Linear(4096, 3))
    seen = []
    model.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape[0]))
    X = torch.randn(8192, 2)
    out = predict_raw(model, X)
    per_row = 4 * (2 + 4096 + 4096 + 3)
    assert out.shape == (8192, 3)
    assert max(seen) * per_row <= forward_budget(0), (max(seen), seen[:5])
    torch.testing.assert_close(out, model(X).detach())
    assert model.training, "the model's mode is given back"


def test_a_larger_training_estimate_lets_validation_take_larger_chunks():
    tally("inputs")
    model = nn.Sequential(nn.Linear(2, 4096), nn.ReLU(), nn.Linear(4096, 3))
    X = torch.randn(8192, 2)
    for training_bytes in (0, 4 * FORWARD_FLOOR):
        seen = []
        hook = model.register_forward_pre_hook(lambda _m, args, seen=seen: seen.append(args[0].shape[0]))
        predict_raw(model, X, training_bytes=training_bytes)
        hook.remove()
        assert max(seen) == forward_rows(4 * (2 + 4096 + 4096 + 3), training_bytes)


def square_grid(resolution: int) -> BoundaryGrid:
    g = np.linspace(-1.0, 1.0, resolution)
    mx, my = np.meshgrid(g, g)
    return BoundaryGrid(g * 10, g * 5, np.column_stack([mx.ravel(), my.ravel()]).astype(np.float32))


def test_the_decision_boundary_grid_is_bounded_for_a_design_with_huge_rows():
    """The 60 x 60 grid of a design whose row is ~2 MB was 7 GB in one pass; now the field is
    coarsened to what one chunk holds (8 x 8 at least, over the same area) and predicted in chunks."""
    tally("inputs")
    wide = nn.Sequential(nn.Linear(2, 2**18), nn.ReLU(), nn.Linear(2**18, 3))
    seen = []
    wide.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape[0]))
    grid = square_grid(60)
    field = boundary_field(wide, grid, "softmax")
    row_bytes = 4 * (2 + 2**18 + 2**18 + 3)
    rows = forward_rows(row_bytes)
    assert field.shape[:2] == (8, 8) and field.shape[2] == 3, field.shape
    assert max(seen[1:]) <= rows and max(seen[1:]) * row_bytes <= forward_budget(0)
    np.testing.assert_allclose(field.sum(axis=2), 1.0, atol=1e-5)
    coarse = grid.within(rows)
    assert (coarse.xs[0], coarse.xs[-1], coarse.ys[0], coarse.ys[-1]) == (grid.xs[0], grid.xs[-1],
                                                                         grid.ys[0], grid.ys[-1])
    small = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))  # measured in eval mode
    assert boundary_field(small, grid, "softmax").shape == (60, 60, 2), "a small design keeps the full grid"
    assert small.training
