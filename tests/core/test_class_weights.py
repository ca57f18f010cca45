"""training.class_weights: "auto" weights the loss inverse to class frequency."""

import numpy as np
import pytest
import torch

from netstudio.core.config import TrainConfig, validate_data, validate_training
from netstudio.core.data.load import load_dataset
from netstudio.core.design.builder import build_model
from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.errors import ProjectError
from netstudio.core.project import new_project
from netstudio.core.training.class_weights import inverse_frequency
from netstudio.core.training.session import prepare_session
from netstudio.core.training.trainer import Trainer

S = LayerSpec.create
MLP = [S("Linear", out_features=16), S("ReLU"), S("Linear", out_features="auto")]


def imbalanced_csv(tmp_path, classes=("a", "b"), counts=(270, 30)):
    rng = np.random.default_rng(0)
    lines = ["x1,x2,label"]
    for index, (name, count) in enumerate(zip(classes, counts)):
        for _ in range(count):
            x = rng.normal(loc=index * 1.2, size=2)
            lines.append(f"{x[0]:.4f},{x[1]:.4f},{name}")
    (tmp_path / "imb.csv").write_text("\n".join(lines) + "\n")
    return load_dataset(validate_data({"source": "csv", "path": "imb.csv", "target": "label"}), tmp_path)


def trained(data, epochs=3, **training):
    stack = LayerStack(MLP)
    model = build_model(stack, data.input_shape, data.output_width, seed=0)
    trainer = Trainer(TrainConfig(device="cpu", epochs=epochs, learning_rate=0.01, **training))
    return trainer, trainer.fit(model, data, stack=stack)


def test_the_weights_are_the_inverse_frequencies():
    weights = inverse_frequency(np.array([0, 0, 0, 1, 2, 2]), 3)
    np.testing.assert_allclose(weights, [6 / (3 * 3), 6 / (3 * 1), 6 / (3 * 2)])
    assert inverse_frequency(np.array([0, 1, 0, 1]), 2).tolist() == [1.0, 1.0]
    assert inverse_frequency(np.array([0, 0]), 2).tolist() == [0.5, 1.0]  # a class without rows: 1


def test_binary_weights_change_the_loss_as_a_weighted_mean(tmp_path):
    data = imbalanced_csv(tmp_path)
    trainer, summary = trained(data, class_weights="auto")
    counts = np.bincount(data.y_train)
    np.testing.assert_allclose(trainer.class_weights, len(data.y_train) / (2 * counts), rtol=1e-6)
    assert trainer.plan.name == "bce_with_logits"
    out = torch.tensor([[2.0], [-1.0], [0.5]])
    y = torch.tensor([[1.0], [0.0], [0.0]])
    each = torch.nn.functional.binary_cross_entropy_with_logits(out, y, reduction="none").reshape(-1)
    w = torch.as_tensor(trainer.class_weights)[y.reshape(-1).long()]
    assert float(trainer.loss_fn(out, y)) == pytest.approx(float((each * w).sum() / w.sum()), rel=1e-6)
    _, plain = trained(data)
    assert [m.train_loss for m in plain.history] != [m.train_loss for m in summary.history]


def test_multiclass_weights_go_into_cross_entropy(tmp_path):
    data = imbalanced_csv(tmp_path, classes=("a", "b", "c"), counts=(200, 50, 20))
    trainer, _ = trained(data, class_weights="auto")
    assert trainer.plan.name == "cross_entropy"
    np.testing.assert_allclose(trainer.class_weights, len(data.y_train) / (3 * np.bincount(data.y_train)), rtol=1e-6)
    out, y = torch.randn(5, 3, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 2, 0])
    expected = torch.nn.functional.cross_entropy(out, y, weight=torch.as_tensor(trainer.class_weights))
    assert float(trainer.loss_fn(out, y)) == pytest.approx(float(expected), rel=1e-6)


def test_class_weights_are_refused_for_regression_and_bad_values(tmp_path):
    with pytest.raises(ProjectError, match='training.class_weights: must be "auto" or null'):
        validate_training({"class_weights": "balanced"})
    project = new_project("reg")
    project.data = {"source": "sample", "name": "house-prices"}
    project.stack = LayerStack(MLP)
    project.training.update(class_weights="auto", device="cpu")
    with pytest.raises(ProjectError, match="class_weights: weights classes, but the task is regression"):
        prepare_session(project)
