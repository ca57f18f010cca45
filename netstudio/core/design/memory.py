"""The memory guard: what a design needs to train, and how many rows a forward pass may take.

Validation estimates a design's training memory at its batch size (every parameter with its
gradient and Adam moments, every layer's output twice: forward and backward) and refuses a design
that needs more than this machine has (:func:`physical_memory`). Every forward pass outside the
training step (validation metrics, evaluation reports, the decision-boundary field, ``netstudio
predict``) takes its chunk from the same estimate: a chunk may hold what one training step of the
design holds (the guard has accepted that much), at least :data:`FORWARD_FLOOR` so that small
designs still run large chunks, and never more than 1/:data:`FORWARD_SHARE` of the memory the
guard checks against.
"""

from __future__ import annotations

import os

#: Bytes a forward-pass chunk may always take (a small design's 65,536 rows of a few values).
FORWARD_FLOOR = 64 * 2**20
#: A forward-pass chunk never takes more than this fraction of the guard's memory limit.
FORWARD_SHARE = 8
#: Rows per forward-pass chunk at most, however small a row.
MAX_FORWARD_ROWS = 65536


def physical_memory() -> int:
    """This machine's RAM in bytes (64 GiB if it cannot be read): the guard's limit."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 64 * 2**30


def forward_budget(training_bytes: int = 0, memory_limit: int | None = None) -> int:
    """Bytes one forward-pass chunk may hold for a design whose training step the guard
    estimated at *training_bytes* (0 when unknown), on a machine of *memory_limit* bytes."""
    limit = physical_memory() if memory_limit is None else memory_limit
    return max(1, min(max(FORWARD_FLOOR, int(training_bytes)), limit // FORWARD_SHARE))


def forward_rows(row_bytes: int, training_bytes: int = 0, memory_limit: int | None = None) -> int:
    """Rows per forward-pass chunk when one row makes *row_bytes* in a forward pass (its input and
    every layer's output): as many as :func:`forward_budget` holds, at least one."""
    budget = forward_budget(training_bytes, memory_limit)
    return max(1, min(MAX_FORWARD_ROWS, budget // max(1, int(row_bytes))))
