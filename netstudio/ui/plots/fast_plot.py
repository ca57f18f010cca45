"""Helpers that keep pyqtgraph plots fast with millions of points on a slow CPU.

:class:`PeakEnvelope` keeps the minimum and maximum of blocks of 8, 64, 512... points of a series
up to date as the series grows, so that any stretch of it is drawn at screen resolution in time
proportional to the screen's width, not to the number of points (pyqtgraph's own peak
downsampling scans every visible point on every frame). :class:`OpaqueGridAxis` draws pyqtgraph's
translucent grid lines in the opaque colours they blend to: the same picture, a fraction of the
raster work (blending long lines dominated the plot's paint time). :func:`steady_range` rounds a
view range out to round steps, so that a view following streaming data moves now and then rather
than on every frame (each move lays out and redraws every axis). :class:`GrowingSeries` holds
a curve's points in numpy buffers that double when full; :class:`MovingAverage` smooths a stream.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QPen

#: Points per block at each level: level k summarises FACTOR**(k + 1) points.
FACTOR = 8


def blend(color: QColor, alpha: float, background: QColor) -> QColor:
    """The opaque colour of *color* drawn with opacity *alpha* (0..1) over *background*."""
    a = min(max(alpha, 0.0), 1.0)
    return QColor(*(round(a * c + (1 - a) * b) for c, b in zip(color.getRgb()[:3], background.getRgb()[:3])))


def round_step(span: float) -> float:
    """The smallest step of 1, 2 or 5 times a power of ten that is at least ``span / 8``."""
    target = span / 8
    power = 10.0 ** math.floor(math.log10(target))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= target * (1 - 1e-9))


def steady_range(low: float, high: float) -> tuple[float, float]:
    """``[low, high]`` widened by 5 % and rounded outwards to :func:`round_step` steps."""
    span = high - low
    if not span > 0:
        span = abs(high) or 1.0
    step = round_step(span)
    pad = 0.05 * span
    return math.floor((low - pad) / step) * step, math.ceil((high + pad) / step) * step


class Extremes:
    """Running minimum, maximum and smallest positive value of the finite numbers added."""

    def __init__(self):
        self.clear()

    def clear(self) -> None:
        self.low, self.high, self.positive = math.inf, -math.inf, math.inf

    def add(self, values) -> None:
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        if len(v):
            self.low, self.high = min(self.low, float(v.min())), max(self.high, float(v.max()))
            positive = v[v > 0]
            if len(positive):
                self.positive = min(self.positive, float(positive.min()))


class _Blocks:
    """Growing min/max arrays of one level."""

    def __init__(self):
        self.low = np.empty(256)
        self.high = np.empty(256)
        self.n = 0

    def extend(self, low: np.ndarray, high: np.ndarray) -> None:
        need = self.n + len(low)
        if need > len(self.low):
            size = max(need, 2 * len(self.low))
            self.low, self.high = np.resize(self.low, size), np.resize(self.high, size)
        self.low[self.n:need], self.high[self.n:need] = low, high
        self.n = need


class PeakEnvelope:
    """Min/max pyramid over the y values of a growing x/y series (x increasing).

    Call :meth:`update` after the series grew and :meth:`clear` when it was cleared. NaN values are
    skipped (a block of NaN only stays NaN); infinities are kept, so a diverging loss still shows.
    """

    def __init__(self):
        self.levels: list[_Blocks] = []

    def clear(self) -> None:
        self.levels = []

    def update(self, y: np.ndarray) -> None:
        """Summarise the complete blocks of *y* (the whole series so far) not summarised yet."""
        low = high = y
        for k in range(64):
            if len(low) < FACTOR:
                return
            if k == len(self.levels):
                self.levels.append(_Blocks())
            level = self.levels[k]
            complete = len(low) // FACTOR
            if complete > level.n:
                lo, hi = level.n * FACTOR, complete * FACTOR
                level.extend(np.fmin.reduce(low[lo:hi].reshape(-1, FACTOR), axis=1),
                             np.fmax.reduce(high[lo:hi].reshape(-1, FACTOR), axis=1))
            low, high = level.low[:level.n], level.high[:level.n]

    def view(self, x: np.ndarray, y: np.ndarray, start: int, stop: int, pixels: int) -> tuple[np.ndarray, np.ndarray]:
        """Points ``start:stop`` of the series as at most about ``2 * pixels`` points.

        Each block of points that fits in one pixel becomes two points at the block's first x, its
        minimum and its maximum (pyqtgraph's "peak" method), so that no spike is lost.
        """
        count = stop - start
        pixels = max(int(pixels), 1)
        if count <= 2 * pixels or not self.levels:
            return x[start:stop], y[start:stop]
        k = min(int(np.log(count / pixels) / np.log(FACTOR)), len(self.levels))
        if k < 1:
            return x[start:stop], y[start:stop]
        size = FACTOR ** k
        level = self.levels[k - 1]
        first = start // size
        last = min(-(-stop // size), level.n)  # blocks that hold a visible point and are complete
        low, high = level.low[first:last], level.high[first:last]
        xs = x[first * size:last * size:size]
        tail = max(last * size, start)
        if stop > tail:  # the newest points, not a complete block yet
            low = np.append(low, np.fmin.reduce(y[tail:stop]))
            high = np.append(high, np.fmax.reduce(y[tail:stop]))
            xs = np.append(xs, x[tail])
        group = len(xs) // pixels
        if group > 1:  # up to FACTOR blocks a pixel: merge them, about one block a pixel
            low, high, xs = _merge(low, group, np.fmin), _merge(high, group, np.fmax), xs[::group]
        return np.repeat(xs, 2), np.column_stack([low, high]).ravel()


def _merge(values: np.ndarray, group: int, reduce) -> np.ndarray:
    """*values* reduced in consecutive groups of *group* (the last group may be shorter)."""
    whole = len(values) // group * group
    merged = reduce.reduce(values[:whole].reshape(-1, group), axis=1)
    return np.append(merged, reduce.reduce(values[whole:])) if whole < len(values) else merged


class OpaqueGridAxis(pg.AxisItem):
    """An axis whose translucent tick and grid lines are drawn in opaque, pre-blended colours.

    ``background`` must be the colour behind the plot (the view's); set it again, then call
    :meth:`invalidate`, when the theme changes.
    """

    def __init__(self, orientation: str, background: QColor, **kwargs):
        super().__init__(orientation, **kwargs)
        self.background = QColor(background)
        self._pens: dict[tuple[int, float], QPen] = {}

    def invalidate(self) -> None:
        self._pens.clear()
        self.picture = None
        self.update()

    def generateDrawSpecs(self, p):  # noqa: N802 - pyqtgraph's name
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return None
        axis, ticks, texts = specs
        opaque = []
        for pen, p1, p2 in ticks:
            color = pen.color()
            if color.alpha() < 255:
                key = (color.rgba(), pen.widthF())
                if key not in self._pens:
                    self._pens[key] = QPen(pen)
                    self._pens[key].setColor(blend(color, color.alphaF(), self.background))
                pen = self._pens[key]
            opaque.append((pen, p1, p2))
        return axis, opaque, texts


#: Training-loss points averaged into the smoothed curve.
SMOOTHING_WINDOW = 25


class GrowingSeries:
    """x/y numpy buffers that double when full; ``view()`` gives the filled part without copying."""

    def __init__(self, capacity: int = 1024):
        self.x = np.empty(capacity, dtype=np.float64)
        self.y = np.empty(capacity, dtype=np.float64)
        self.n = 0

    def extend(self, x, y) -> None:
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        need = self.n + len(x)
        if need > len(self.x):
            size = max(need, 2 * len(self.x))
            self.x = np.resize(self.x, size)
            self.y = np.resize(self.y, size)
        self.x[self.n:need] = x
        self.y[self.n:need] = y
        self.n = need

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[:self.n], self.y[:self.n]

    def clear(self) -> None:
        self.n = 0


class MovingAverage:
    """Moving average over the last ``window`` values, computed in chunks from a running sum."""

    def __init__(self, window: int = SMOOTHING_WINDOW):
        self.window = window
        self.tail = np.empty(0)

    def feed(self, values) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        joined = np.concatenate([self.tail, values])
        csum = np.concatenate([[0.0], np.cumsum(joined)])
        ends = np.arange(len(self.tail) + 1, len(joined) + 1)
        starts = np.maximum(0, ends - self.window)
        smoothed = (csum[ends] - csum[starts]) / (ends - starts)
        self.tail = joined[-(self.window - 1):] if self.window > 1 else np.empty(0)
        return smoothed

    def reset(self) -> None:
        self.tail = np.empty(0)
