"""How a run goes wrong: losses that are no longer numbers, and a device out of memory."""

from __future__ import annotations

import math


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a device or host out-of-memory error (CUDA's, MPS's or the CPU allocator's)."""
    import torch

    oom = getattr(torch, "OutOfMemoryError", ())
    if isinstance(exc, (MemoryError, oom)):
        return True
    # CUDA and MPS say "out of memory"; the CPU allocator "can't allocate memory" (a plain RuntimeError)
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def loss_text(value: float) -> str:
    """A non-finite loss as the messages say it: nan, inf or -inf."""
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def first_non_finite(losses) -> tuple[int, float]:
    """Index and value of the first NaN/inf in the 1-D tensor *losses*; ``(-1, 0.0)`` if none."""
    import torch

    bad = torch.nonzero(~torch.isfinite(losses))
    if not len(bad):
        return -1, 0.0
    i = int(bad[0, 0])
    return i, float(losses[i])


def first_bad_loss(step_losses: list) -> str:
    """The text of the first non-finite loss among the device tensors *step_losses*."""
    import torch

    values = torch.stack(step_losses).tolist()
    bad = next((v for v in values if not math.isfinite(v)), float("nan"))
    return loss_text(bad)
