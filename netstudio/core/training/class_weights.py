"""``training.class_weights: "auto"``: a loss that weights each class inverse to its frequency.

The weight of class *c* is ``N / (K * n_c)`` (N training rows, K classes, n_c rows of class *c*),
so a balanced dataset gets weights of 1 and a class half as common counts twice as much. The loss
is the weighted mean over a batch (each sample's loss times its class's weight, divided by the sum
of the weights), as ``torch.nn.CrossEntropyLoss(weight=...)`` computes it; binary losses on one
output unit get the same treatment. The validation and test losses use the same weights.
"""

from __future__ import annotations

import numpy as np

from netstudio.core.design.losses import LossPlan, make_loss


def inverse_frequency(y_train: np.ndarray, n_classes: int) -> np.ndarray:
    """``N / (K * n_c)`` per class (float32); a class without training rows gets 1."""
    counts = np.bincount(np.asarray(y_train, dtype=np.int64).reshape(-1), minlength=n_classes)[:n_classes]
    weights = np.ones(n_classes, dtype=np.float64)
    present = counts > 0
    weights[present] = counts.sum() / (n_classes * counts[present])
    return weights.astype(np.float32)


def training_loss(plan: LossPlan, config, data, device):
    """The loss module the trainer uses: :func:`make_loss`, weighted by class when asked.

    Returns ``(loss, class weights or None)``: the loss is called as ``loss(output, target)``.
    """
    import torch
    from torch import nn

    if config.class_weights != "auto" or not data.is_classification:
        return make_loss(plan), None
    weights = inverse_frequency(data.y_train, len(data.classes))
    tensor = torch.as_tensor(weights, device=device)
    if plan.name == "cross_entropy":
        return nn.CrossEntropyLoss(weight=tensor), weights
    if plan.name == "nll":
        return nn.NLLLoss(weight=tensor), weights
    base = make_loss(plan)
    base.reduction = "none"

    def weighted(output, target):
        """Each sample's loss times its class's weight, over the sum of the weights."""
        w = tensor[target.long()]
        return (base(output, target) * w).sum() / w.sum()

    return weighted, weights
