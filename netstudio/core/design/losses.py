"""Loss functions: the ``auto`` choice, mismatches between loss, task and last layer, and how a
network's raw output becomes probabilities or values.

The checks here are pure Python so that the designer can show them while the user edits: a
BCELoss on raw Linear outputs, a Softmax before CrossEntropyLoss or an output width that is not
the number of classes become issues on the right layer, before any training starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from netstudio.core.design.layers import Fix, fmt_shape
from netstudio.core.design.stack import LayerStack
from netstudio.core.design.validation import Issue, Validation

REGRESSION_LOSSES = ("mse", "l1", "smooth_l1", "huber")
#: How the network's output is turned into what users and exports see.
OUTPUT_TRANSFORMS = ("sigmoid", "softmax", "exp", "identity", "binary_identity")


@dataclass(frozen=True)
class LossPlan:
    """The loss to train with and how to read the network's output.

    ``name`` is a concrete loss (never ``auto``); ``target`` is ``index`` (int64 class indices),
    ``float`` (a float column [N, 1]); ``output`` is one of :data:`OUTPUT_TRANSFORMS`: ``sigmoid``
    (one logit -> P(class 1)), ``binary_identity`` (one probability already), ``softmax``
    (logits -> probabilities), ``exp`` (log-probabilities -> probabilities), ``identity`` (a
    regression value, or probabilities already).
    """

    name: str
    target: str
    output: str


def _last_type(stack: LayerStack) -> str | None:
    return stack[len(stack) - 1].type if len(stack) else None


def plan_loss(loss: str, task: str, stack: LayerStack, output_width: int) -> LossPlan:
    """Choose the concrete loss for *loss* (``auto`` or a name) given the task and last layer."""
    last = _last_type(stack)
    if loss == "auto":
        if task == "regression":
            loss = "mse"
        elif task == "binary" and output_width == 1:
            loss = "bce" if last == "Sigmoid" else "bce_with_logits"
        else:
            loss = "nll" if last == "LogSoftmax" else "cross_entropy"
    if loss in ("bce", "bce_with_logits"):
        return LossPlan(loss, "float", "binary_identity" if loss == "bce" else "sigmoid")
    if loss in ("cross_entropy", "nll"):
        if loss == "nll":
            return LossPlan(loss, "index", "exp")
        return LossPlan(loss, "index", "identity" if last == "Softmax" else "softmax")
    if task == "binary":  # a regression loss on 0/1 targets: the output is a score in [0, 1]
        return LossPlan(loss, "float", "binary_identity")
    return LossPlan(loss, "float", "identity")


def check_training(validation: Validation, stack: LayerStack, task: str, classes: list[str] | None,
                   loss: str) -> Validation:
    """Add loss/task/output mismatches to *validation* (on the layer concerned) and return it."""
    if not len(stack) or validation.output_shape is None:
        return validation
    last_index = len(stack) - 1
    last = stack[last_index].type
    n_classes = len(classes) if classes else 0
    out = validation.output_shape
    width = out[-1]
    linear = stack.last_linear_index()

    def add(index: int | None, message: str, fix: Fix | None = None, severity: str = "error") -> None:
        issue = Issue(severity, message, fix)
        if index is None:
            validation.issues.append(issue)
        else:
            validation.layers[index].issues.append(issue)

    auto_fix = Fix('Set out_features to "auto"', "set_param", param="out_features", value="auto")
    if len(out) != 1:
        add(last_index, f"the network outputs {fmt_shape(out)} per sample, but a {task} task needs a flat "
                        f"vector: end with Flatten and Linear")
        return validation
    where = linear if linear is not None else last_index
    fix = auto_fix if linear is not None else None
    if task == "multiclass" and width != n_classes:
        add(where, f"the network outputs {width} values but the data has {n_classes} classes", fix)
    elif task == "binary" and width not in (1, 2):
        add(where, f"the network outputs {width} values but a binary task needs 1 (or 2)", fix)
    elif task == "regression" and width != 1:
        add(where, f"the network outputs {width} values but a regression task needs 1", fix)

    _check_loss(add, loss, task, last, last_index, where, width, linear)
    return validation


def _check_loss(add, loss: str, task: str, last: str, last_index: int, where: int, width: int,
                linear: int | None) -> None:
    """The issues of *loss* (``auto`` or a name) with the task and the last layer, through *add*."""
    if loss == "auto":
        if task in ("binary", "multiclass") and last == "Softmax" and not (task == "binary" and width == 1):
            add(last_index, "Softmax before CrossEntropyLoss squashes the gradients (the loss applies softmax "
                            "itself; exports still output probabilities)", Fix("Remove Softmax", "remove"))
        if task == "regression" and last in ("Sigmoid", "Softmax", "LogSoftmax", "Tanh"):
            add(last_index, f"{last} limits the outputs, but a regression target can take any value",
                Fix(f"Remove {last}", "remove"), severity="warning")
        return
    if task == "regression" and loss not in REGRESSION_LOSSES:
        add(None, f"the {loss} loss is for classification, but the task is regression: use mse, l1, "
                  "smooth_l1 or huber")
    elif task == "multiclass" and loss in REGRESSION_LOSSES + ("bce", "bce_with_logits"):
        add(None, f"the {loss} loss does not fit a multiclass task: use cross_entropy")
    elif task == "binary" and loss in REGRESSION_LOSSES + ("bce", "bce_with_logits") and width != 1:
        add(where, f"the {loss} loss needs one output unit for a binary task, got {width}",
            Fix("Set out_features to 1", "set_param", param="out_features", value=1) if linear is not None else None)
    if loss == "bce" and last != "Sigmoid":
        add(last_index, f"BCELoss needs probabilities, but the last layer is {last}, not Sigmoid: add "
                        "Sigmoid or use the bce_with_logits loss")
    if loss == "bce_with_logits" and last == "Sigmoid":
        add(last_index, "bce_with_logits applies the sigmoid itself: remove this Sigmoid or use the bce loss",
            Fix("Remove Sigmoid", "remove"))
    if loss == "cross_entropy" and last == "Softmax":
        add(last_index, "Softmax before CrossEntropyLoss squashes the gradients (the loss applies softmax itself)",
            Fix("Remove Softmax", "remove"))
    if loss == "nll" and last != "LogSoftmax":
        add(last_index, f"NLLLoss needs log-probabilities, but the last layer is {last}: add LogSoftmax or use "
                        "the cross_entropy loss")


def make_loss(plan: LossPlan):
    """The ``torch.nn`` loss module for *plan*."""
    from torch import nn

    return {
        "mse": nn.MSELoss, "l1": nn.L1Loss, "smooth_l1": nn.SmoothL1Loss, "huber": nn.HuberLoss,
        "bce": nn.BCELoss, "bce_with_logits": nn.BCEWithLogitsLoss,
        "cross_entropy": nn.CrossEntropyLoss, "nll": nn.NLLLoss,
    }[plan.name]()


def to_probabilities(output, transform: str):
    """Apply an output transform to a batch of raw outputs (a torch tensor)."""
    import torch

    if transform == "sigmoid":
        p = torch.sigmoid(output)
        return torch.cat([1 - p, p], dim=1)
    if transform == "binary_identity":
        p = output.clamp(0, 1)
        return torch.cat([1 - p, p], dim=1)
    if transform == "softmax":
        return torch.softmax(output, dim=1)
    if transform == "exp":
        return torch.exp(output)
    return output
