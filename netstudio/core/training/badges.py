"""The diagram's live badges: one short reading per layer from an inspection snapshot.

:func:`live_badges` turns a :class:`~netstudio.core.training.inspection.Snapshot` into a
:class:`Badge` per layer or block path of the design it was taken of (layers are matched by
module name, :func:`netstudio.core.design.builder.module_paths`): a rectifier's dead units
(``dead 62 %``), a saturating activation's saturated outputs (``sat 40 %``), else the gradient
norm of the layer's parameters (``∇ 0.031``). A badge is an ``alert`` where the diagnoses would
speak up (:data:`~netstudio.core.training.diagnoses.DEAD_FRACTION` dead, a gradient norm past
:data:`~netstudio.core.training.diagnoses.EXPLODING_NORM` or not finite).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from netstudio.core.design.builder import module_paths
from netstudio.core.training.diagnoses import DEAD_FRACTION, EXPLODING_NORM

#: The share of a saturating activation's outputs in its flat ends that makes its badge an alert.
SATURATED_FRACTION = 0.5


@dataclass(frozen=True)
class Badge:
    """What a diagram node shows while training: ``text`` (a few characters), whether it is an
    ``alert`` (drawn amber) and a ``tooltip`` line with the step it was read at."""

    text: str
    alert: bool
    tooltip: str


def _percent(fraction: float) -> str:
    return f"{round(100 * fraction)} %"


def _norm_text(norm: float) -> str:
    if not math.isfinite(norm):
        return "∇ " + ("inf" if norm > 0 else "nan")
    return f"∇ {norm:.2g}" if norm < 1e4 else f"∇ {norm:.1e}"


def badge_for(layer, step: int) -> Badge | None:
    """The badge of one :class:`~netstudio.core.training.inspection.LayerSnapshot`, or None when
    it has nothing to say (a layer without parameters, gradients or unit statistics)."""
    stats = layer.stats
    where = f"{layer.name}, step {step}"
    if stats.dead_fraction is not None:
        return Badge(f"dead {_percent(stats.dead_fraction)}", stats.dead_fraction >= DEAD_FRACTION,
                     f"{_percent(stats.dead_fraction)} of the units never fire on the probe samples ({where})")
    if stats.saturated_fraction is not None:
        return Badge(f"sat {_percent(stats.saturated_fraction)}", stats.saturated_fraction >= SATURATED_FRACTION,
                     f"{_percent(stats.saturated_fraction)} of the outputs are in the flat ends ({where})")
    norm = layer.gradient_norm
    if norm is None:
        return None
    return Badge(_norm_text(norm), not math.isfinite(norm) or norm > EXPLODING_NORM,
                 f"gradient norm {norm:.3g} of its parameters ({where})")


def live_badges(snapshot, specs) -> dict[tuple, Badge]:
    """Each layer's and block's badge by path, for a *snapshot* of the model built from *specs*
    (the design's top-level layers); paths with no reading are left out."""
    names = module_paths(specs)
    by_name = {layer.name: layer for layer in snapshot.layers}
    badges = {}
    for path, name in names.items():
        layer = by_name.get(name)
        badge = badge_for(layer, snapshot.step) if layer is not None else None
        if badge is not None:
            badges[path] = badge
    return badges
