"""Validation metrics, computed on the device in large batches and read back once.

Classification: loss, accuracy (and, for the evaluation view, the confusion matrix and per-class
precision/recall/F1). Regression: loss, R² and MAE in the target's own units.
"""

from __future__ import annotations

import math

import numpy as np

from netstudio.core.design.memory import forward_rows


def row_values(model, x) -> int:
    """The values one row makes in *model*'s forward pass: its input and every module's output,
    measured on the one-row batch *x* (cached on the model per input shape)."""
    import torch

    cache = model.__dict__.setdefault("_netstudio_row_values", {})
    key = tuple(x.shape[1:])
    if key not in cache:
        total = [x.numel()]

        def count(_module, _inputs, output):
            if isinstance(output, torch.Tensor):
                total[0] += output.numel()
            elif isinstance(output, (tuple, list)):
                total[0] += sum(o.numel() for o in output if isinstance(o, torch.Tensor))

        hooks = [m.register_forward_hook(count) for m in model.modules() if not list(m.children())]
        try:
            with torch.no_grad():
                model(x)
        finally:
            for hook in hooks:
                hook.remove()
        cache[key] = total[0]
    return cache[key]


def chunk_rows(model, X, training_bytes: int = 0) -> int:
    """Rows per forward-pass chunk of *model* on inputs like the device tensor *X*: one row's
    values measured (in eval mode), sized by the memory guard with *training_bytes* its estimate of
    the design's training step (0 when unknown)."""
    was_training = model.training
    model.eval()
    try:
        return forward_rows(X.element_size() * row_values(model, X[:1]), training_bytes)
    finally:
        model.train(was_training)


def predict_raw(model, X, batch_size: int | None = None, training_bytes: int = 0):
    """The model's raw outputs for every row of the device tensor *X*, in eval mode, no grad, in
    chunks the memory guard sizes (:func:`~netstudio.core.design.memory.forward_rows`): one row's
    values measured, the design's training estimate *training_bytes* (0 when unknown) the budget."""
    import torch

    was_training = model.training
    model.eval()
    try:
        if batch_size is None and X.shape[0]:
            batch_size = chunk_rows(model, X, training_bytes)
        batch_size = batch_size or 1
        with torch.no_grad():
            outs = [model(X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(outs) if outs else X.new_zeros((0, 1))


def evaluate(model, X, y, loss_fn, plan, data, training_bytes: int = 0) -> tuple[dict, float]:
    """``(metrics, val_loss)`` for the device tensors *X*, *y* (targets as the loss expects them);
    *training_bytes*: the memory guard's estimate of the design's training step (chunk budget)."""
    import torch

    from netstudio.core.design.losses import to_probabilities

    out = predict_raw(model, X, training_bytes=training_bytes)
    with torch.no_grad():
        loss = loss_fn(out, y)
        if data.task == "regression":
            pred, true = out.reshape(-1), y.reshape(-1)
            ss_res = torch.sum((true - pred) ** 2)
            ss_tot = torch.sum((true - true.mean()) ** 2)
            mae = torch.mean(torch.abs(true - pred)) * data.target_std
            loss_v, res, tot, mae_v = torch.stack([loss, ss_res, ss_tot, mae]).tolist()
            r2 = 1.0 - res / tot if tot > 0 else (1.0 if res == 0 else 0.0)
            return {"val_r2": r2, "val_mae": mae_v}, loss_v
        probs = to_probabilities(out, plan.output)
        labels = y.reshape(-1).long()
        accuracy = (probs.argmax(dim=1) == labels).float().mean()
        loss_v, acc_v = torch.stack([loss.float(), accuracy]).tolist()
        values = {"val_accuracy": acc_v}
        if data.task == "binary":  # class 1's ROC AUC (left out when the split has one class only)
            from netstudio.core.training.curves import binary_auc

            auc = binary_auc(labels.cpu().numpy(), probs.float().cpu().numpy())
            if auc is not None:
                values["val_auc"] = auc
        return values, loss_v


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``[true class, predicted class]``."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    return matrix


def per_class_scores(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall and F1 per class from a confusion matrix (0 where undefined)."""
    tp = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0).astype(float)
    actual = matrix.sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(actual > 0, tp / actual, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual.astype(np.int64)}


def regression_scores(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """R², MAE and RMSE in the units of *true*."""
    true, pred = np.asarray(true, float).reshape(-1), np.asarray(pred, float).reshape(-1)
    res = float(np.sum((true - pred) ** 2))
    tot = float(np.sum((true - true.mean()) ** 2)) if len(true) else 0.0
    return {
        "r2": 1.0 - res / tot if tot > 0 else (1.0 if res == 0 else 0.0),
        "mae": float(np.mean(np.abs(true - pred))) if len(true) else 0.0,
        "rmse": math.sqrt(res / len(true)) if len(true) else 0.0,
    }
