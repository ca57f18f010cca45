"""Large float arrays a chunk at a time, on several threads: the statistics and the masks that
fitting and applying the preprocessing need, in bounded memory."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Values per chunk when statistics and transforms walk a large array (bounds temporary memory).
CHUNK_VALUES = 1 << 20
_POOL: ThreadPoolExecutor | None = None


def run_parallel(tasks: list) -> list:
    """Results of the zero-argument callables *tasks*, in order, on a few threads.

    For NumPy work that releases the GIL (gathers, reductions, in-place arithmetic) on arrays
    large enough to be worth it; a single task, or a one-core machine, runs inline.
    """
    global _POOL
    if len(tasks) < 2 or (os.cpu_count() or 1) < 2:
        return [task() for task in tasks]
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1), thread_name_prefix="netstudio-data")
    return list(_POOL.map(lambda task: task(), tasks))


def chunk_rows(x: np.ndarray) -> int:
    """Rows of *x* per chunk: about :data:`CHUNK_VALUES` values, at least one row."""
    return max(1, CHUNK_VALUES // max(1, math.prod(x.shape[1:])))


def chunk_moments(chunk: np.ndarray, finite: np.ndarray | None, axes: tuple, stat_shape: tuple, scratch: bool):
    """Per group of *chunk* (float32, non-finite values already 0; *finite* None when all are):
    ``(count, mean, sum of squared deviations from the mean)``, float64. The squares are taken
    around the chunk's own mean (as float32), which keeps them accurate for values far from zero.
    With *scratch*, *chunk* is overwritten instead of copied."""
    per_group = max(1, math.prod(stat_shape))
    count = finite.sum(axis=axes, keepdims=True) if finite is not None else \
        np.full([1 if i in axes else n for i, n in enumerate(chunk.shape)], chunk.size / per_group)
    safe = np.maximum(count, 1)
    shift = (chunk.sum(axis=axes, dtype=np.float64, keepdims=True) / safe).astype(np.float32)
    deviation = np.subtract(chunk, shift, out=chunk if scratch else None)
    if finite is not None:
        deviation[~finite] = 0.0
    first = deviation.sum(axis=axes, dtype=np.float64, keepdims=True)
    np.square(deviation, out=deviation)
    second = deviation.sum(axis=axes, dtype=np.float64, keepdims=True)
    mean = shift + first / safe
    spread = np.maximum(second - np.square(first) / safe, 0.0)
    return tuple(np.asarray(a, dtype=np.float64).reshape(stat_shape) for a in (count, mean, spread))


def combine_moments(parts: list, stat_shape: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chunks' ``(count, mean, spread)`` combined into ``(count, mean, variance)`` of them all
    (Chan et al.'s pairwise formula, all at once: exact up to rounding, in any order)."""
    count = sum((p[0] for p in parts), np.zeros(stat_shape))
    safe = np.maximum(count, 1)
    mean = sum((p[0] * p[1] for p in parts), np.zeros(stat_shape)) / safe
    spread = sum((p[2] + p[0] * np.square(p[1] - mean) for p in parts), np.zeros(stat_shape))
    return count, mean, spread / safe


def finite_chunk(chunk: np.ndarray, divide_by: float, scratch: bool = False):
    """*chunk* as float32 (divided by *divide_by*, non-finite set to 0) and its finite mask
    (None when every value is finite). With *scratch*, a float32 *chunk* is changed in place
    instead of copied."""
    chunk = np.asarray(chunk, dtype=np.float32)
    if divide_by != 1.0:
        chunk = np.divide(chunk, np.float32(divide_by), out=chunk if scratch else None)
    finite = np.isfinite(chunk)
    if finite.all():
        return chunk, None
    if scratch:
        chunk[~finite] = 0.0
        return chunk, finite
    return np.where(finite, chunk, np.float32(0)), finite
