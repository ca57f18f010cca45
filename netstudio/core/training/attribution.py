"""Which inputs made the prediction: Integrated Gradients (captum) over the raw features or pixels.

:func:`attribute` explains one preprocessed sample's predicted class (or a regression output)
against a baseline: the training mean for tables (0 after standardising), black for images.
Standardising is affine per feature, so the attributions are the same over the raw values as over
the preprocessed ones; a one-hot encoded column's inputs are summed back into the raw column.
The result is a bar per raw feature for a table, a heatmap ``[H, W]`` for an image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Integration steps of Integrated Gradients.
IG_STEPS = 32


@dataclass(frozen=True)
class Attribution:
    """``values``: one per name in ``names`` (tables), or ``[H, W]`` (images, ``names`` empty);
    ``target``: the class index explained (0 for regression); ``delta``: captum's convergence error."""

    values: np.ndarray = field(compare=False)
    names: tuple
    target: int
    delta: float


def attribute(model, dataset, sample, target: int | None = None, steps: int = IG_STEPS) -> Attribution:
    """Integrated Gradients of *model* for one preprocessed *sample* of *dataset*.

    *target* defaults to the predicted class. The model's mode is put back afterwards; parameters'
    gradients are not touched (captum differentiates with respect to the input only).
    """
    import torch
    from captum.attr import IntegratedGradients

    device = next(iter(model.parameters())).device
    x = torch.as_tensor(np.ascontiguousarray(sample, dtype=np.float32)[None], device=device)
    pre = dataset.preprocessor
    if getattr(pre, "kind", None) == "text":
        return _token_attribution(model, pre, x, dataset.task, target, steps)
    images = getattr(pre, "kind", None) == "images"
    if images:
        shape = (1, *pre.stat_shape)
        black = (0 - np.asarray(pre.mean).reshape(shape)) / np.asarray(pre.std).reshape(shape)
        baseline = torch.as_tensor(np.broadcast_to(black, x.shape).astype(np.float32), device=device)
    else:
        baseline = torch.zeros_like(x)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(x)
        if target is None:
            target = int(out.argmax(dim=1)) if dataset.task == "multiclass" and out.shape[1] > 1 else 0
        ig = IntegratedGradients(model)
        values, delta = ig.attribute(x, baselines=baseline, target=target, n_steps=steps,
                                     return_convergence_delta=True)
    finally:
        model.train(was_training)
    values = values.detach().cpu().numpy()[0]
    if images:
        return Attribution(values.sum(axis=0), (), target, float(delta.abs().max()))
    names, grouped = _by_raw_column(dataset, values.reshape(-1))
    return Attribution(grouped, names, target, float(delta.abs().max()))


def _by_raw_column(dataset, values: np.ndarray) -> tuple[tuple, np.ndarray]:
    pre = dataset.preprocessor
    columns = getattr(pre, "columns", None) or []
    if not columns or sum(c.width for c in columns) != len(values):
        names = tuple(dataset.feature_names) if len(dataset.feature_names) == len(values) else \
            tuple(f"input {i + 1}" for i in range(len(values)))
        return names, values
    out, at = [], 0
    for column in columns:
        out.append(float(values[at:at + column.width].sum()))
        at += column.width
    return tuple(c.name for c in columns), np.asarray(out)


def _token_attribution(model, pre, x, task: str, target: int | None, steps: int) -> Attribution:
    """Integrated Gradients of a text model, one value per token of the text (padding left out).

    Token ids cannot be differentiated, so the path runs through the first layer's output (the
    Embedding's vectors), from those of an all-padding text to the text's own."""
    import torch
    from captum.attr import LayerIntegratedGradients

    from netstudio.core.data.model_inputs import PAD_ID

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(x)
        if target is None:
            target = int(out.argmax(dim=1)) if task == "multiclass" and out.shape[1] > 1 else 0
        ig = LayerIntegratedGradients(model, model[0])
        values, delta = ig.attribute(x, baselines=torch.full_like(x, float(PAD_ID)), target=target, n_steps=steps,
                                     return_convergence_delta=True)
    finally:
        model.train(was_training)
    ids = x[0].long().cpu().numpy()
    used = np.flatnonzero(ids != PAD_ID)
    per_token = values.detach().cpu().numpy()[0].sum(axis=-1)[used]
    tokenizer = pre.encoder.tokenizer
    names = tuple(f"{i + 1}: {tokenizer.id_to_token(int(ids[i])) or ids[i]}" for i in used)
    return Attribution(per_token, names, target, float(delta.abs().max()))
