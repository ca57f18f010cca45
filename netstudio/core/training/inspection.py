"""Looking inside a model while it learns: each layer's output on a sample, weight and gradient
histograms, gradient norms and activation statistics.

Layers are found by module name (``fc1``, ``relu2``, and inside blocks ``res1.conv1``): every
leaf module and every top-level entry of the model is recorded, in the order they ran.
:func:`record_activations` does one forward pass with forward hooks; :func:`activation_stats`
summarises one layer's output over a probe batch (the fraction of ReLU units that never fire,
of Sigmoid/Tanh outputs that are saturated, the output's scale).

:class:`InspectionProbe` is a training callback. Every :data:`GRADIENT_EVERY` steps it reads the
gradient norms (cheap: one fused norm, one read-back); at most ``rate`` times a second it also
takes a :class:`Snapshot` (the sample's activations, the statistics over the probe batch, the
weight and gradient histograms). Both happen between two steps on the trainer's thread, in eval
mode without gradients, so they draw no random numbers and change nothing that is trained: the
same seed gives the same losses with the probe on or off. Its :class:`InspectionHistory` is what
:func:`netstudio.core.training.diagnoses.diagnose` reads.

Events
------
on_snapshot(Snapshot)
    At the first step, at most ``rate`` times a second after, and at the end of the fit.
on_diagnoses(tuple of Diagnosis)
    After an epoch, at most ``rate`` times a second (the checks read the whole history, so on a
    run of many short epochs they would cost more than the training), and at the end of the fit,
    when a ``diagnose`` function was given.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from netstudio.core.training.states import Callback

#: Steps between two readings of the gradient norms.
GRADIENT_EVERY = 10
#: Bins of a weight or gradient histogram.
HISTOGRAM_BINS = 32
#: Samples the activation statistics are taken over.
PROBE_SAMPLES = 64
#: A sample's layer output is cut to this many values (the first channels) for the window.
MAX_ACTIVATION_VALUES = 1 << 16
#: Layer types whose units are "dead" when they never fire (output exactly 0 for every sample).
RECTIFIERS = frozenset({"ReLU", "ReLU6"})
#: Saturating activations: the output range outside which a unit counts as saturated.
SATURATION = {"Sigmoid": (0.02, 0.98), "Tanh": (-0.98, 0.98), "Hardtanh": (-0.98, 0.98),
              "Hardsigmoid": (0.02, 0.98)}


def layer_modules(model) -> list[tuple[str, object]]:
    """``(name, module)`` of every leaf module and every top-level entry of *model*."""
    top = {name for name, _ in model.named_children()}
    return [(name, m) for name, m in model.named_modules()
            if name and (name in top or not any(True for _ in m.children()))]


def _tensor_of(output):
    """The tensor a module returned (an LSTM returns ``(output, state)``)."""
    import torch

    while isinstance(output, (tuple, list)) and output:
        output = output[0]
    return output if isinstance(output, torch.Tensor) else None


def record_activations(model, x, names=None) -> dict:
    """Each named layer's output for the batch *x*, in the order the layers ran.

    Runs in eval mode without gradients and puts the model's mode back. *names* limits the
    recording to those module names (default: :func:`layer_modules`).
    """
    import torch

    wanted = layer_modules(model) if names is None else [(n, model.get_submodule(n)) for n in names]
    outputs: dict = {}
    handles = []
    for name, module in wanted:
        def hook(_module, _inputs, output, name=name):
            tensor = _tensor_of(output)
            if tensor is not None:
                outputs[name] = tensor.detach()
        handles.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return outputs


@dataclass(frozen=True)
class ActivationStats:
    """One layer's output over a probe batch.

    ``dead_fraction`` (rectifiers): the share of output units that are 0 for every sample;
    ``saturated_fraction`` (Sigmoid, Tanh): the share of outputs in the flat ends; ``std`` and
    ``mean_abs`` say the output's scale.
    """

    name: str
    type: str
    shape: tuple
    dead_fraction: float | None
    saturated_fraction: float | None
    mean_abs: float
    std: float


def activation_stats(name: str, type_name: str, output) -> ActivationStats:
    """The statistics of one layer's output ``[N, ...]`` (a tensor)."""
    out = output.float()
    dead = saturated = None
    if type_name in RECTIFIERS and out.shape[0]:
        dead = float((out <= 0).all(dim=0).float().mean())
    if type_name in SATURATION and out.numel():
        lo, hi = SATURATION[type_name]
        saturated = float(((out < lo) | (out > hi)).float().mean())
    import torch

    finite = out.reshape(-1)
    if finite.numel() and not bool(finite.isfinite().all()):  # masking copies: only when it must
        finite = finite[finite.isfinite()]
    mean_abs = float(finite.abs().mean()) if finite.numel() else 0.0
    std = float(torch.std(finite)) if finite.numel() > 1 else 0.0
    return ActivationStats(name, type_name, tuple(int(s) for s in out.shape[1:]), dead, saturated, mean_abs, std)


@dataclass(frozen=True)
class Histogram:
    """Counts of values in ``bins`` equal bins from ``low`` to ``high``."""

    low: float
    high: float
    counts: np.ndarray = field(compare=False)

    @property
    def edges(self) -> np.ndarray:
        return np.linspace(self.low, self.high, len(self.counts) + 1)


def histogram(values, bins: int = HISTOGRAM_BINS) -> Histogram | None:
    """The histogram of a tensor's finite values, or None when it has none."""
    flat = values.detach().float().reshape(-1)
    flat = flat[flat.isfinite()]
    if not flat.numel():
        return None
    lo, hi = (float(v) for v in (flat.min(), flat.max()))
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    import torch

    counts = torch.histc(flat, bins=bins, min=lo, max=hi)
    return Histogram(lo, hi, counts.cpu().numpy().astype(np.int64))


@dataclass(frozen=True)
class LayerSnapshot:
    """One layer at one moment: the sample's output, its statistics and its parameters' spread."""

    name: str
    type: str
    activation: np.ndarray = field(compare=False)   # the sample's output, no batch dimension
    stats: ActivationStats
    weights: Histogram | None
    gradients: Histogram | None
    gradient_norm: float | None
    parameters: int


@dataclass(frozen=True)
class Snapshot:
    """The whole model at one training step (``step`` 0: before training)."""

    step: int
    epoch: int
    layers: tuple
    gradient_norm: float | None
    sample: np.ndarray | None = field(default=None, compare=False, repr=False)  # the input, no batch dimension

    def layer(self, name: str) -> LayerSnapshot | None:
        return next((layer for layer in self.layers if layer.name == name), None)


def take_snapshot(model, sample, probe, step: int = 0, epoch: int = 0) -> Snapshot:
    """A :class:`Snapshot` of *model*: *sample* is one input ``[1, ...]``, *probe* a batch (tensors)."""
    import torch

    batch = torch.cat([sample, probe]) if probe is not None and len(probe) else sample
    outputs = record_activations(model, batch)
    modules = dict(layer_modules(model))
    layers = []
    total = 0.0
    have_gradients = False
    for name, out in outputs.items():
        module = modules[name]
        own = list(module.parameters(recurse=False))
        if not own and "." not in name and any(True for _ in module.children()):
            own = list(module.parameters())  # a block: its whole inside
        weights = histogram(torch.cat([p.detach().reshape(-1) for p in own])) if own else None
        grads = [p.grad.detach().reshape(-1) for p in own if p.grad is not None]
        gradients = histogram(torch.cat(grads)) if grads else None
        norm = float(torch.linalg.vector_norm(torch.cat(grads))) if grads else None
        if norm is not None and not any(True for _ in module.children()):
            total += norm * norm
            have_gradients = True
        values = out[0].float().cpu().numpy()
        if values.size > MAX_ACTIVATION_VALUES:
            values = values[: max(1, MAX_ACTIVATION_VALUES // max(1, values[0].size))]
        layers.append(LayerSnapshot(name, type(module).__name__, values,
                                    activation_stats(name, type(module).__name__, out), weights, gradients, norm,
                                    sum(p.numel() for p in own)))
    return Snapshot(step, epoch, tuple(layers), math.sqrt(total) if have_gradients else None,
                    sample[0].float().cpu().numpy())


def raw_sample(preprocessor, sample) -> np.ndarray:
    """A preprocessed input (no batch dimension) back in the data's own units: the standardising
    undone (``x * std + mean``, times the fixed scale, e.g. 0-255 pixels). A one-hot column's
    features stay 0/1; an imputed value shows as the fill value. Unchanged without statistics."""
    x = np.asarray(sample, dtype=np.float64)
    mean, std = getattr(preprocessor, "mean", None), getattr(preprocessor, "std", None)
    if mean is None or std is None:
        return x
    try:
        raw = x * np.asarray(std, dtype=np.float64) + np.asarray(mean, dtype=np.float64)
    except ValueError:  # statistics laid out otherwise than the sample: show it as the network does
        return x
    if raw.shape != x.shape:
        return x
    return raw * float(getattr(preprocessor, "divide_by", 1.0))


@dataclass
class InspectionHistory:
    """What the probe has seen so far (kept on the training thread, read by the diagnoses).

    ``gradient_steps`` / ``gradient_norms``: the total gradient norm at those global steps;
    ``layer_gradient_rms``: each parametrised leaf layer's root-mean-square gradient at those
    steps; ``step_losses``: every step's training loss; ``epochs``: the finished epochs'
    :class:`~netstudio.core.training.states.EpochMetrics`; ``latest``: the last snapshot.
    """

    gradient_steps: list = field(default_factory=list)
    gradient_norms: list = field(default_factory=list)
    layer_gradient_rms: dict = field(default_factory=dict)
    step_losses: list = field(default_factory=list)
    epochs: list = field(default_factory=list)
    latest: Snapshot | None = None


class InspectionProbe(Callback):
    """Records activations, histograms and gradient norms between training steps.

    Parameters
    ----------
    model : torch.nn.Module
        The model being trained (the plain module, not a DDP wrapper).
    sample : numpy.ndarray
        One preprocessed input (no batch dimension) whose activations are shown.
    probe : numpy.ndarray, optional
        Preprocessed inputs ``[N, ...]`` the statistics are taken over.
    on_snapshot, on_diagnoses : callable, optional
        See the module's Events.
    diagnose : callable, optional
        ``diagnose(history) -> tuple of Diagnosis``, called after an epoch (see Events).
    rate : float
        Most snapshots and diagnoses a second (gradient norms are read every ``gradient_every`` steps).
    history : InspectionHistory, optional
        What an earlier probe of the same model saw: a run continued goes on adding to it, so the
        diagnoses see the whole run (e.g. over-fitting that began before the Continue).
    """

    def __init__(self, model, sample, probe=None, *, on_snapshot: Callable | None = None,
                 on_diagnoses: Callable | None = None, diagnose: Callable | None = None, rate: float = 2.0,
                 gradient_every: int = GRADIENT_EVERY, history: InspectionHistory | None = None):
        self.model = model
        self.history = history if history is not None else InspectionHistory()
        self.on_snapshot, self.on_diagnoses, self.diagnose = on_snapshot, on_diagnoses, diagnose
        self.interval = 1.0 / rate if rate > 0 else math.inf
        self.gradient_every = max(1, int(gradient_every))
        self._lock = threading.Lock()
        self._sample_array, self._probe_array = np.asarray(sample, dtype=np.float32), probe
        self._tensors = None
        self._last = -math.inf
        self._last_diagnosis = -math.inf
        self._losses_read = 0
        latest = self.history.latest
        self._epoch = latest.epoch if latest is not None else 0
        self._step = latest.step if latest is not None else 0
        self._grad_params: list | None = None
        self._calls: list = []
        self._accepting = True

    def call_soon(self, fn: Callable[[], None]) -> bool:
        """Run *fn* on the training thread between the next two steps (thread-safe): how the
        window predicts or explains with the model while it trains, without racing the optimizer.

        False (and *fn* not queued) once the fit has ended: the caller runs it itself.
        """
        with self._lock:
            if not self._accepting:
                return False
            self._calls.append(fn)
            return True

    def _run_calls(self, last: bool = False) -> None:
        if self._calls or last:
            with self._lock:
                calls, self._calls = self._calls, []
                self._accepting = self._accepting and not last
            for fn in calls:
                fn()

    def set_sample(self, sample) -> None:
        """Show another sample from the next snapshot on (thread-safe)."""
        with self._lock:
            self._sample_array = np.asarray(sample, dtype=np.float32)
            self._tensors = None
            self._last = -math.inf

    # -- what the trainer calls ------------------------------------------------------------------
    def on_fit_start(self, start):
        self._losses_read = 0
        self._snapshot(self._step, self._epoch)

    def on_batch_end(self, state):
        self._step, self._epoch = state.global_step, state.epoch
        if state.step == state.steps_per_epoch or state.global_step % self.gradient_every == 0:
            self._read_losses(state.step_losses)
            self._read_gradients(state.global_step)
        if time.perf_counter() - self._last >= self.interval:
            self._snapshot(state.global_step, state.epoch)
        self._run_calls()

    def on_epoch_end(self, metrics):
        self.history.epochs.append(metrics)
        self._losses_read = 0
        if time.perf_counter() - self._last_diagnosis >= self.interval:
            self._report_diagnoses()

    def on_fit_end(self, summary):
        self._snapshot(self._step, self._epoch)
        self._report_diagnoses()
        self._run_calls(last=summary is not None)

    def on_exception(self, exc):
        with self._lock:  # the fit is over: nothing queued will run; callers run theirs themselves
            self._accepting, self._calls = False, []

    # -- internals -------------------------------------------------------------------------------
    def _read_losses(self, step_losses: list) -> None:
        import torch

        if len(step_losses) > self._losses_read:
            self.history.step_losses.extend(torch.stack(step_losses[self._losses_read:]).float().tolist())
            self._losses_read = len(step_losses)

    def _read_gradients(self, step: int) -> None:
        import torch

        if self._grad_params is None:
            self._grad_params = [(name, list(m.parameters(recurse=False))) for name, m in layer_modules(self.model)
                                 if not any(True for _ in m.children()) and any(True for _ in m.parameters(recurse=False))]
        names, grads, sizes = [], [], []
        for name, params in self._grad_params:
            for p in params:
                if p.grad is not None:
                    names.append(name)
                    grads.append(p.grad.detach())
                    sizes.append(p.numel())
        if not grads:
            return
        norms = torch.stack(torch._foreach_norm(grads)).float().cpu().tolist()
        squares: dict[str, list] = {}
        for name, norm, size in zip(names, norms, sizes):
            acc = squares.setdefault(name, [0.0, 0])
            acc[0] += norm * norm
            acc[1] += size
        self.history.gradient_steps.append(step)
        self.history.gradient_norms.append(math.sqrt(sum(norm * norm for norm in norms)))
        for name, (square, size) in squares.items():
            self.history.layer_gradient_rms.setdefault(name, []).append(math.sqrt(square / size))

    def _snapshot(self, step: int, epoch: int) -> None:
        self._last = time.perf_counter()
        if self._tensors is None:
            import torch

            with self._lock:
                sample, probe = self._sample_array, self._probe_array
            device = next(iter(self.model.parameters()), torch.zeros(0)).device
            as_tensor = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32, device=device)  # noqa: E731
            self._tensors = (as_tensor(sample[None]), as_tensor(probe[:PROBE_SAMPLES]) if probe is not None else None)
        snapshot = take_snapshot(self.model, *self._tensors, step=step, epoch=epoch)
        self.history.latest = snapshot
        if self.on_snapshot is not None:
            self.on_snapshot(snapshot)

    def _report_diagnoses(self) -> None:
        self._last_diagnosis = time.perf_counter()
        if self.diagnose is not None:
            found = tuple(self.diagnose(self.history))
            if self.on_diagnoses is not None:
                self.on_diagnoses(found)


def probe_for_session(session, sample_index: int = 0, **kwargs) -> InspectionProbe:
    """An :class:`InspectionProbe` on a training session's model, its validation sample
    *sample_index* (training samples when there is no validation split), and its diagnoses."""
    from netstudio.core.training.diagnoses import diagnoser

    data = session.dataset
    pool = data.X_val if data.n_val else data.X_train
    sample_index = min(max(0, sample_index), len(pool) - 1)
    kwargs.setdefault("diagnose", diagnoser(session))
    return InspectionProbe(session.model, pool[sample_index], pool[:PROBE_SAMPLES], **kwargs)
