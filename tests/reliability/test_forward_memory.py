"""Forward passes outside the training step stay within a memory budget.

The review's case: validation ran chunks of up to 65,536 rows sized from the input alone, so a
design that widens its input (training needed MBs) peaked at 5.5-6.3 GB after its first epoch.
"""

from __future__ import annotations

import torch
from torch import nn

from netstudio.core.training.metrics import EVAL_BYTES, predict_raw
from tests.reliability.conftest import tally


def test_validation_batches_are_sized_by_every_layers_outputs():
    tally("inputs")
    model = nn.Sequential(nn.Linear(2, 4096), nn.ReLU(), nn.Linear(4096, 3))
    seen = []
    model.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape[0]))
    X = torch.randn(8192, 2)
    out = predict_raw(model, X)
    per_row = 2 + 4096 + 4096 + 3
    assert out.shape == (8192, 3)
    assert max(seen) * per_row * 4 <= EVAL_BYTES, (max(seen), seen[:5])
    torch.testing.assert_close(out, model(X).detach())
    assert model.training, "the model's mode is given back"
