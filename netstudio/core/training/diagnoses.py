"""What is wrong with a run, the evidence, and a fix: read from an inspection history.

:func:`diagnose` looks at an :class:`~netstudio.core.training.inspection.InspectionHistory` (and
the design it trained) and returns :class:`Diagnosis` cards: dead ReLU units, exploding or
vanishing gradients, overfitting, a learning rate too high or too low, and the design's own
warnings (an output layer that does not fit the loss). Each card says what was measured and
offers :class:`Remedy` values: edits of the design (``(index, Fix)`` on the top-level layers,
applied in the order given, which keeps the indices right) and training settings
(``("learning_rate", 0.001)``, ``("early_stopping.patience", 5)``). A window applies one as a
single undo step; :func:`apply_remedy` does the same to plain values.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from netstudio.core.config import validate_training
from netstudio.core.design.layer_type import Fix
from netstudio.core.design.stack import LayerSpec, LayerStack

#: A rectifier layer is reported when at least this share of its units never fires.
DEAD_FRACTION = 0.5
#: Gradients explode above this total norm, or this many times their early median.
EXPLODING_NORM = 1e3
EXPLODING_GROWTH = 100.0
#: Gradients vanish when the first weighted layer's RMS gradient is this small a share of the last's.
VANISHING_RATIO = 1e-3
#: Weighted layers a stack needs before vanishing gradients are looked for.
VANISHING_DEPTH = 4
#: Overfitting: validation loss this much above its best, at least this many epochs after it.
OVERFIT_RISE = 0.1
OVERFIT_EPOCHS = 3
#: The fewest epochs averaged when looking for a rise (an eighth of the run when that is more).
OVERFIT_SMOOTHING = 3
#: A loss that jumps: its mean relative rise per epoch, over at least JUMP_EPOCHS epochs.
JUMP_RISE = 0.12
JUMP_EPOCHS = 5
#: A flat loss: less than this relative fall over at least FLAT_EPOCHS epochs.
FLAT_FALL = 0.01
FLAT_EPOCHS = 3
WEIGHTED = frozenset({"Linear", "Conv1d", "Conv2d", "ConvTranspose2d", "LSTM", "GRU", "Embedding"})
SATURATING = frozenset({"Sigmoid", "Tanh"})


@dataclass(frozen=True)
class Remedy:
    """One click that may fix a diagnosis: design edits and/or training settings."""

    label: str
    edits: tuple = ()      # ((top-level index, Fix), ...), applied in this order
    settings: tuple = ()   # (("learning_rate", 0.001), ("early_stopping.patience", 5), ...)


@dataclass(frozen=True)
class Diagnosis:
    """A card: ``kind`` (dead_units, exploding_gradients, vanishing_gradients, overfitting,
    learning_rate_high, learning_rate_low, design), a title, the evidence, the layer concerned
    (a module name) and the remedies, best first."""

    kind: str
    title: str
    evidence: str
    layer: str | None = None
    remedies: tuple = ()


@dataclass(frozen=True)
class Context:
    """The design and settings a history was recorded with."""

    stack: LayerStack
    training: dict
    validation: Any = None     # the design's Validation (its warnings become cards)
    names: tuple = ()          # top-level module names, one per layer of ``stack``

    def index_of(self, module_name: str | None) -> int | None:
        return self.names.index(module_name) if module_name in self.names else None


def diagnoser(session) -> Callable:
    """``diagnose(history)`` for a training session (its design, settings and validation)."""
    from netstudio.core.design.builder import module_names

    stack = session.project.stack
    context = Context(stack, dict(session.project.training), session.validation, tuple(module_names(stack)))
    return lambda history: diagnose(history, context)


def diagnose(history, context: Context) -> list[Diagnosis]:
    """Every diagnosis the history supports, most serious first."""
    found: list[Diagnosis] = _learning_rate_high(history, context)
    checks = [_exploding, _vanishing, _dead_units]
    if not found:  # a loss that jumps or diverges says nothing about over-fitting or a slow rate
        checks += [_overfitting, _learning_rate_low]
    for check in checks:
        found.extend(check(history, context))
    found.extend(_design_warnings(context))
    return found


def _rate(context: Context) -> float:
    return float(context.training.get("learning_rate", 0.001))


def _lower_rate(context: Context, factor: float = 0.1) -> Remedy:
    rate = float(f"{_rate(context) * factor:.2g}")
    return Remedy(f"Lower the learning rate to {rate:g}", settings=(("learning_rate", rate),))


def _finite(values) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


# -- the checks -----------------------------------------------------------------------------------

def _learning_rate_high(history, context: Context) -> list[Diagnosis]:
    losses = [m.train_loss for m in history.epochs]
    bad = [v for v in history.step_losses if not math.isfinite(v)] or [v for v in losses if not math.isfinite(v)]
    if bad:
        evidence = f"the training loss became {bad[0]} (diverged)"
    elif len(losses) >= FLAT_EPOCHS and min(losses[-2:]) > losses[0] * 1.05:
        evidence = f"the training loss rose from {losses[0]:.4g} (epoch 1) to {losses[-1]:.4g} (epoch {len(losses)})"
    elif len(losses) >= JUMP_EPOCHS and (jump := _jumps(history.epochs)) is not None:
        what, rise = jump
        evidence = f"the {what} loss jumps around: on average it rises {rise:.0%} from one epoch to the next"
    else:
        return []
    return [Diagnosis("learning_rate_high", "The learning rate is too high", evidence,
                      remedies=(_lower_rate(context),))]


def _jumps(epochs) -> tuple[str, float] | None:
    """``(which loss, its mean relative rise per epoch)`` when the training or validation loss
    rises by :data:`JUMP_RISE` a epoch on average (a healthy run's rises are a few percent)."""
    for what, values in (("validation", [m.val_loss for m in epochs]), ("training", [m.train_loss for m in epochs])):
        values = _finite(values)
        if len(values) < JUMP_EPOCHS or min(values) <= 0:
            continue
        rise = sum(max(b - a, 0.0) / a for a, b in zip(values, values[1:])) / (len(values) - 1)
        if rise >= JUMP_RISE:
            return what, rise
    return None


def _exploding(history, context: Context) -> list[Diagnosis]:
    norms = history.gradient_norms
    if not norms:
        return []
    finite = _finite(norms)
    early = statistics.median(finite[:5]) if finite else 0.0
    peak = max(finite) if finite else math.inf
    if len(finite) < len(norms):
        evidence = "the gradients became infinite or NaN"
    elif peak > EXPLODING_NORM or (early > 0 and peak > EXPLODING_GROWTH * early and peak > 10):
        evidence = f"the gradient norm reached {peak:.3g} (it started near {early:.3g})"
    else:
        return []
    remedies = []
    if context.training.get("gradient_clip") is None:
        remedies.append(Remedy("Clip gradients at norm 1", settings=(("gradient_clip", 1.0),)))
    remedies.append(_lower_rate(context))
    return [Diagnosis("exploding_gradients", "The gradients explode", evidence, remedies=tuple(remedies))]


def _vanishing(history, context: Context) -> list[Diagnosis]:
    rms = history.layer_gradient_rms
    weighted = [name for name in rms if _type_of(context, name) in WEIGHTED or name not in context.names]
    if len(weighted) < VANISHING_DEPTH:
        return []
    first, last = weighted[0], weighted[-1]
    recent = lambda values: statistics.median(values[len(values) // 2:])  # noqa: E731
    top, bottom = recent(rms[last]), recent(rms[first])
    if not (top > 0 and math.isfinite(top) and bottom / top < VANISHING_RATIO):
        return []
    evidence = (f"{first}'s gradients are {bottom / top:.1e} times those of {last} "
                f"({bottom:.2e} against {top:.2e} per weight): the first layers barely learn")
    remedies = []
    saturating = [i for i, spec in enumerate(context.stack) if spec.type in SATURATING]
    if saturating:
        remedies.append(Remedy("Replace Sigmoid/Tanh with ReLU", edits=tuple(
            (i, Fix("Replace with ReLU", "replace", layer={"type": "ReLU", "params": {}})) for i in reversed(saturating))))
    norms = _batchnorm_inserts(context)
    if norms:
        remedies.append(Remedy("Add BatchNorm after each hidden layer", edits=norms))
    return [Diagnosis("vanishing_gradients", "The gradients vanish in the first layers", evidence, first,
                      tuple(remedies))]


def _batchnorm_inserts(context: Context) -> tuple:
    """``insert BatchNorm`` edits before each activation that follows a Linear/Conv layer (last first)."""
    validation = context.validation
    edits = []
    for i in range(1, len(context.stack)):
        if context.stack[i - 1].type in ("Linear", "Conv1d", "Conv2d") and context.stack[i].type not in WEIGHTED \
                and not context.stack[i].type.startswith("BatchNorm") and i < len(context.stack) - 1:
            shape = None
            if validation is not None and i - 1 < len(validation.layers):
                shape = validation.layers[i - 1].output_shape
            kind = "BatchNorm2d" if shape is not None and len(shape) == 3 else "BatchNorm1d"
            if shape is not None and len(shape) == 2 and context.stack[i - 1].type != "Conv1d":
                continue  # a sequence's features: BatchNorm1d would normalise the wrong axis
            edits.append((i, Fix(f"Insert {kind}", "insert", layer={"type": kind, "params": {}})))
    return tuple(reversed(edits))


def _type_of(context: Context, name: str) -> str | None:
    index = context.index_of(name)
    return context.stack[index].type if index is not None else None


def _dead_units(history, context: Context) -> list[Diagnosis]:
    snapshot = history.latest
    if snapshot is None:
        return []
    found = []
    for layer in snapshot.layers:
        dead = layer.stats.dead_fraction
        if dead is None or dead < DEAD_FRACTION:
            continue
        remedies = []
        index = context.index_of(layer.name)
        if index is not None:
            remedies.append(Remedy(f"Replace {layer.name} with LeakyReLU", edits=(
                (index, Fix("Replace with LeakyReLU", "replace", layer={"type": "LeakyReLU", "params": {}})),)))
        remedies.append(_lower_rate(context, 0.3))
        found.append(Diagnosis("dead_units", f"{dead:.0%} of {layer.name}'s units never fire",
                               f"{dead:.0%} of {layer.name}'s units output 0 for every probe sample: they no "
                               f"longer learn", layer.name, tuple(remedies)))
    return found


def _trailing_means(values: list[float], k: int) -> list[float]:
    """The mean of each run of *k* consecutive values, ending at index k-1, k, ..."""
    sums = list(itertools.accumulate(values, initial=0.0))
    return [(sums[i + k] - sums[i]) / k for i in range(len(values) - k + 1)]


def _overfitting(history, context: Context) -> list[Diagnosis]:
    epochs = [m for m in history.epochs if m.val_loss is not None and math.isfinite(m.val_loss)]
    # Means over a window that grows with the run, so that one lucky epoch near the end of a noisy
    # but healthy run (spiral's validation loss jumps ±50 % from epoch to epoch) is not a "rise".
    k = max(OVERFIT_SMOOTHING, len(epochs) // 8)
    if len(epochs) < OVERFIT_EPOCHS + k + 1:
        return []
    val = _trailing_means([m.val_loss for m in epochs], k)
    train = _trailing_means([m.train_loss for m in epochs], k)
    best = min(range(len(val)), key=val.__getitem__)
    if len(val) - 1 - best < OVERFIT_EPOCHS or val[-1] <= val[best] * (1 + OVERFIT_RISE) or train[-1] >= train[best]:
        return []
    # val[i] is the mean over epochs[i : i + k]
    low = f"epochs {epochs[best].epoch}–{epochs[best + k - 1].epoch}"
    end = f"epochs {epochs[-k].epoch}–{epochs[-1].epoch}"
    evidence = (f"the mean validation loss rose from {val[best]:.4g} ({low}) to {val[-1]:.4g} ({end}) "
                f"while the mean training loss fell from {train[best]:.4g} to {train[-1]:.4g}")
    remedies = []
    linear = context.stack.last_linear_index()
    if linear is not None and linear > 0 and context.stack[linear - 1].type != "Dropout":
        remedies.append(Remedy("Insert Dropout(0.3) before the output layer", edits=(
            (linear, Fix("Insert Dropout", "insert", layer={"type": "Dropout", "params": {"p": 0.3}})),)))
    decay = float(context.training.get("weight_decay", 0.0))
    new_decay = 1e-4 if decay == 0 else min(1.0, decay * 10)
    remedies.append(Remedy(f"Set weight decay to {new_decay:g}", settings=(("weight_decay", new_decay),)))
    if (context.training.get("early_stopping") or {}).get("patience") is None:
        remedies.append(Remedy("Stop early after 5 epochs without improvement",
                               settings=(("early_stopping.patience", 5),)))
    return [Diagnosis("overfitting", "The model overfits", evidence, remedies=tuple(remedies))]


def _learning_rate_low(history, context: Context) -> list[Diagnosis]:
    losses = [m.train_loss for m in history.epochs]
    if len(losses) < FLAT_EPOCHS or not all(math.isfinite(v) for v in losses) or losses[0] <= 1e-3:
        return []
    fall = (losses[0] - losses[-1]) / losses[0]
    if not 0 <= fall < FLAT_FALL:
        return []
    rate = float(f"{min(1.0, _rate(context) * 10):.2g}")
    evidence = (f"the training loss fell only {fall:.1%} in {len(losses)} epochs "
                f"({losses[0]:.4g} to {losses[-1]:.4g})")
    return [Diagnosis("learning_rate_low", "The learning rate is too low", evidence,
                      remedies=(Remedy(f"Raise the learning rate to {rate:g}", settings=(("learning_rate", rate),)),))]


def _design_warnings(context: Context) -> list[Diagnosis]:
    validation = context.validation
    if validation is None:
        return []
    found = []
    for result in validation.layers:
        for issue in result.issues:
            if issue.severity != "warning":
                continue
            remedies = (Remedy(issue.fix.label, edits=((result.index, issue.fix),)),) if issue.fix else ()
            name = context.names[result.index] if result.index < len(context.names) else None
            found.append(Diagnosis("design", f"Layer {result.index + 1} ({result.type}) does not fit",
                                   issue.message, name, remedies))
    return found


# -- applying a remedy ----------------------------------------------------------------------------

def apply_settings(training: dict, remedy: Remedy) -> dict:
    """*training* with the remedy's settings in it (validated; dotted keys reach nested sections)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in training.items()}
    for key, value in remedy.settings:
        *parents, leaf = key.split(".")
        target = out
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return validate_training(out)


def apply_edits(stack: LayerStack, remedy: Remedy) -> LayerStack:
    """A copy of *stack* with the remedy's design edits made."""
    layers = [spec.copy() for spec in stack]
    for index, fix in remedy.edits:
        if fix.op == "insert":
            layers.insert(index, LayerSpec.from_config(fix.layer))
        elif fix.op == "replace":
            layers[index] = LayerSpec.from_config(fix.layer)
        elif fix.op == "remove":
            del layers[index]
        elif fix.op == "set_param":
            layers[index].params[fix.param] = fix.value
        else:
            raise ValueError(f"unknown fix operation {fix.op!r}")
    return LayerStack(layers)


def apply_remedy(stack: LayerStack, training: dict, remedy: Remedy) -> tuple[LayerStack, dict]:
    """``(stack, training)`` after the remedy (new values; the arguments are not changed)."""
    return apply_edits(stack, remedy), apply_settings(training, remedy)
