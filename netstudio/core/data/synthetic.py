"""Synthetic 2-D classification sets, as in TensorFlow Playground: pure NumPy and deterministic.

Every generator takes ``(samples, noise, seed, classes)`` and returns ``X`` float64 ``(samples, 2)``
and ``y`` int64 class indices. The same arguments always give the same arrays.
"""

from __future__ import annotations

import numpy as np

from netstudio.core.config import DataConfig, settings

#: The kinds of set, as the data section names them.
KINDS = tuple(settings(DataConfig)["kind"].choices)


def make_synthetic(kind: str, samples: int, noise: float, seed: int, classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Generate a 2-D set.

    Parameters
    ----------
    kind : str
        ``moons`` (two interleaving half circles), ``circles`` (a disc inside a ring), ``spiral``
        (``classes`` interleaved arms), ``xor`` (quadrants), ``gaussians`` (``classes`` blobs).
    samples : int
        Number of points, split as evenly as possible between the classes.
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate (relative units).
    seed : int
    classes : int
        Used by ``spiral`` and ``gaussians``; the other kinds always have two classes.
    """
    rng = np.random.default_rng(seed)
    if kind not in KINDS:
        raise ValueError(f"unknown synthetic kind {kind!r}")
    if kind not in ("spiral", "gaussians"):
        classes = 2
    y = np.arange(samples, dtype=np.int64) % classes
    rng.shuffle(y)
    X = np.empty((samples, 2))
    if kind == "moons":
        t = rng.uniform(0.0, np.pi, samples)
        upper = y == 0
        X[upper] = np.column_stack([np.cos(t[upper]), np.sin(t[upper])])
        X[~upper] = np.column_stack([1.0 - np.cos(t[~upper]), 0.5 - np.sin(t[~upper])])
        X += rng.normal(0.0, noise, X.shape)
    elif kind == "circles":
        angle = rng.uniform(0.0, 2 * np.pi, samples)
        radius = np.where(y == 0, rng.uniform(0.0, 0.5, samples), rng.uniform(0.7, 1.0, samples))
        X[:] = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
        X += rng.normal(0.0, noise, X.shape)
    elif kind == "spiral":
        r = rng.uniform(0.05, 1.0, samples)
        angle = 1.75 * 2 * np.pi * r + 2 * np.pi * y / classes
        X[:] = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
        X += rng.normal(0.0, noise, X.shape) * r[:, None]
    elif kind == "xor":
        X[:] = rng.uniform(-1.0, 1.0, (samples, 2))
        # keep points off the axes (as Playground does), then put each in a quadrant of its class
        X += np.sign(X) * 0.05
        same_sign = y == 0
        X[:, 1] = np.abs(X[:, 1]) * np.where(same_sign, np.sign(X[:, 0]), -np.sign(X[:, 0]))
        X += rng.normal(0.0, noise, X.shape)
    else:  # gaussians
        angle = 2 * np.pi * np.arange(classes) / classes + np.pi / 4
        centres = 0.6 * np.column_stack([np.cos(angle), np.sin(angle)])
        X[:] = centres[y] + rng.normal(0.0, 0.15 + noise, X.shape)
    return X, y
