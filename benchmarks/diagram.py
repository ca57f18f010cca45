"""Diagram redraw time after an edit, for a 200-layer ResNet-style design (issue 21).

The design: a stem (Conv2d, BatchNorm2d, ReLU), 28 Residual blocks of Conv2d, BatchNorm2d, ReLU,
Conv2d, BatchNorm2d, each followed by a ReLU (three stages of widths 16, 32, 64, the first block
of a stage striding 2 with a projection shortcut), then pooling, Flatten and Linear: 202 layers
and blocks. Each round makes one edit (the last Linear's width, alternately 10 and 11) and times
what the window's Diagram view does on the design's change signal:

* ``validate``: :meth:`LayerStack.validate` (the shapes on the edges);
* ``layout``: :func:`netstudio.core.design.diagram.layout_diagram`;
* ``svg``: :func:`netstudio.core.design.diagram_svg.diagram_svg`, for reference (export only);
* ``window, fit`` and ``window, 100%``: the whole redraw in the window's Diagram view
  (:mod:`netstudio.ui.designer.diagram_view`, offscreen at 1000×760), with the whole design in
  sight (Ctrl+0: too small for texts, boxes and lines are drawn) and at its natural size: the
  edit as an undo command on a ``Design``, its validation, the layout, the scene rebuilt from it
  and a synchronous paint of the viewport.

Goal: both under 50 ms (median of ``--rounds``).

    python benchmarks/diagram.py [--rounds 30] [--blocks 28]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netstudio.core.design.diagram import layout_diagram  # noqa: E402
from netstudio.core.design.diagram_svg import diagram_svg  # noqa: E402
from netstudio.core.design.stack import LayerStack  # noqa: E402

INPUT = (3, 32, 32)


def resnet_config(blocks: int) -> list[dict]:
    """A ResNet-style design of *blocks* Residual blocks (7 rows each counted with their ReLU)."""
    def conv(out, stride=1):
        return {"type": "Conv2d", "params": {"out_channels": out, "kernel_size": 3, "padding": 1, "stride": stride}}

    def plain(kind):
        return {"type": kind, "params": {}}

    layers = [conv(16), plain("BatchNorm2d"), plain("ReLU")]
    per_stage = max(1, blocks // 3)
    for b in range(blocks):
        stage = min(2, b // per_stage)
        width = 16 * 2 ** stage
        stride = 2 if b and b % per_stage == 0 and stage == b // per_stage else 1
        layers.append({"type": "Residual", "params": {"shortcut": "auto"},
                       "layers": [conv(width, stride), plain("BatchNorm2d"), plain("ReLU"), conv(width),
                                  plain("BatchNorm2d")]})
        layers.append(plain("ReLU"))
    layers += [{"type": "AdaptiveAvgPool2d", "params": {"output_size": 1}}, plain("Flatten"),
               {"type": "Linear", "params": {"out_features": 10}}]
    return layers


def count(specs) -> int:
    return sum(1 + sum(count(child) for child in spec.children) for spec in specs)


def window_view(stack: LayerStack):
    """The window's Diagram view of *stack* (shown offscreen, the whole design in sight), or None
    before the view exists."""
    try:
        from netstudio.ui.designer.diagram_view import DiagramView
    except ImportError:
        return None
    from PySide6.QtWidgets import QApplication

    from netstudio.ui.designer.design import Design

    app = QApplication.instance() or QApplication([])
    design = Design(stack, INPUT)
    view = DiagramView(design)
    view.resize(1000, 760)
    view.show()
    app.processEvents()
    view.fit()
    return app, design, view


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--blocks", type=int, default=28)
    args = parser.parse_args()
    stack = LayerStack.from_config(resnet_config(args.blocks))
    times: dict[str, list[float]] = {"validate": [], "layout": [], "svg": []}
    last = len(stack) - 1
    for round_ in range(args.rounds + 2):  # the first two warm up
        stack.set_param(last, "out_features", 10 + round_ % 2)
        t0 = time.perf_counter()
        validation = stack.validate(INPUT)
        t1 = time.perf_counter()
        diagram = layout_diagram(stack, validation)
        t2 = time.perf_counter()
        diagram_svg(diagram)
        t3 = time.perf_counter()
        if round_ >= 2:
            for name, value in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
                times[name].append(value * 1000)
    assert validation.valid, validation.first_error()
    shown = window_view(LayerStack.from_config(resnet_config(args.blocks)))
    if shown is not None:
        app, design, view = shown
        for zoom, name in ((None, "window, fit"), (1.0, "window, 100%")):
            if zoom is None:
                view.fit()  # every node and edge in sight (too small for text: boxes and lines)
            else:
                view.resetTransform()  # the natural size, the first blocks in sight with all their text
                view.centerOn(view.diagram_scene.nodes[(3,)])
            app.processEvents()
            times[name] = []
            for round_ in range(args.rounds + 2):
                t0 = time.perf_counter()
                design.set_param(last, "out_features", 12 + round_ % 2)  # an undo step: validate, lay out, rebuild
                view.viewport().repaint()  # and paint what is in sight
                t1 = time.perf_counter()
                app.processEvents()
                if round_ >= 2:
                    times[name].append((t1 - t0) * 1000)
        assert len(view.diagram_scene.nodes) == count(stack.layers)
    print(f"design: {count(stack.layers)} layers and blocks ({len(stack)} rows), input {INPUT}, "
          f"{validation.total_parameters:,} parameters; {len(diagram.nodes)} nodes, {len(diagram.edges)} edges")
    print(f"median of {args.rounds} edits, ms (load {os.getloadavg()[0]:.2f}):")
    if shown is None:
        print("  (no diagram view yet)")
    for name, values in times.items():
        print(f"  {name:<13} {statistics.median(values):7.2f}   (min {min(values):.2f}, max {max(values):.2f})")
    for name in ("window, fit", "window, 100%"):
        if name in times:
            print(f"redraw after an edit, {name[8:]} (undo command, validate, layout, scene rebuild, paint): "
                  f"{statistics.median(times[name]):.2f} ms median (goal < 50 ms)")


if __name__ == "__main__":
    main()
