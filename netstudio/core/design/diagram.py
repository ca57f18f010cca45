"""The design as a picture: a pure layout of nodes and edges, from the layers and their validation.

A design is a tree of series and parallel lists (:mod:`netstudio.core.design.blocks`), so it lays
out without any graph-layout library: a list goes top to bottom, a Parallel's branches side by
side. :func:`layout_diagram` returns a :class:`Diagram` in pixels (the SVG writer,
:mod:`netstudio.core.design.diagram_svg`, and the window's diagram view draw the same one):

* an ``input`` node, a ``layer`` node per layer and an ``output`` node (name, key settings,
  parameter count and share, category, ``ok``/``warning``/``error`` with the issue);
* a ``block`` node per block: the frame around what it holds, with a ``fork`` dot at its top
  where its input splits and an exit node at its bottom (``merge``: a Residual's or an add
  Parallel's ⊕, a concat Parallel's ``concat``; ``repeat``: a Repeat's ``× N``);
* an edge after every layer and exit node, labelled with the shape that flows along it
  (``16×8×8``; ``?`` where an error stops the shapes), and for each edge the path a layer
  dropped onto it is inserted at; a Residual's ``skip`` edge and a Repeat's ``loop`` edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netstudio.core.design.blocks import BLOCK_CATEGORY, is_block
from netstudio.core.design.layers import get_layer_type
from netstudio.core.design.paths import Path, path_text

#: Node sizes and gaps, in pixels.
NODE_W, NODE_H = 184, 46
IO_H = 34
DOT = 8
MERGE_D = 26
PILL_W, PILL_H = 64, 24
GAP = 34  # the length of an edge between two elements of a list
BRANCH_GAP = 28
PAD = 14
TITLE_H = 22
LANE = 34  # room beside a block's layers for its skip or loop edge
EMPTY_W = 48  # the width of an empty list (a Parallel's empty branch)
MIN_FRAME_W = 150
MARGIN = 24

#: Fill colours of the nodes by palette category: (light theme, dark theme).
CATEGORY_COLOURS: dict[str, tuple[str, str]] = {
    "Core": ("#dbe8fb", "#23406b"),
    "Convolution": ("#dcf1e1", "#1f4d2c"),
    "Pooling": ("#e5f4f4", "#1c4a4c"),
    "Normalization": ("#f4ecd8", "#4d4120"),
    "Activation": ("#fbe3d4", "#5a3320"),
    "Recurrent": ("#ece1f7", "#43295e"),
    "Sequence": ("#f7dfeb", "#5a2643"),
    "Reshape": ("#e8e8e8", "#3d3d3d"),
    BLOCK_CATEGORY: ("#f6f7f9", "#25282d"),
}
#: Outline colours of the statuses: (light, dark).
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "ok": ("#8a94a3", "#7d8591"),
    "warning": ("#d08c00", "#f0b030"),
    "error": ("#d03030", "#ff5c5c"),
}


def shape_text(shape) -> str:
    """``(16, 8, 8)`` -> ``16×8×8``; ``?`` when the shape is unknown."""
    return "×".join(str(s) for s in shape) if shape is not None else "?"


def count_text(n: int) -> str:
    """A parameter count in a few characters: ``448``, ``12.3k``, ``4.1M``."""
    for limit, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= limit:
            return f"{n / limit:.1f}{unit}"
    return str(n)


@dataclass(frozen=True)
class Node:
    """One box of the diagram (coordinates of its top-left corner and its size, in pixels).

    ``kind`` is ``input``, ``output``, ``layer``, ``block`` (the frame of a block), ``fork``
    (where a block's input splits), ``merge`` or ``repeat`` (a block's exit). ``path`` is the
    layer's or block's path (a fork's or exit's is its block's; ``None`` for input and output).
    """

    key: str
    kind: str
    path: Path | None
    type: str
    title: str
    detail: str
    x: float
    y: float
    width: float
    height: float
    category: str = BLOCK_CATEGORY
    parameters: int = 0
    share: float = 0.0
    status: str = "ok"
    message: str = ""
    fix: str | None = None
    path_text: str = ""

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2

    def tooltip(self) -> str:
        """What hovering shows: the type, settings, parameters, and the issue with its fix."""
        lines = [f"{self.type} — {self.path_text}" if self.path_text else self.type]
        if self.detail:
            lines.append(self.detail)
        if self.kind in ("layer", "block"):
            lines.append(f"{self.parameters:,} parameters ({self.share:.0%} of the model)")
        if self.message:
            lines.append(f"{self.status}: {self.message}")
        if self.fix:
            lines.append(f"fix: {self.fix}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Edge:
    """A connection along *points* from node ``source`` to node ``target``.

    ``label`` is the shape flowing along it (``16×8×8``), drawn at ``label_at``; a ``skip`` edge's
    is its shortcut (``identity``, ``projection``). ``insert_path`` is where a layer dropped on
    the edge goes (``None`` for ``skip`` and ``loop`` edges).
    """

    source: str
    target: str
    label: str
    points: tuple[tuple[float, float], ...]
    label_at: tuple[float, float]
    kind: str = "flow"  # flow | skip | loop
    insert_path: Path | None = None
    tooltip: str = ""


@dataclass
class Diagram:
    """The laid-out design: nodes (tree order), edges, and the size of the picture."""

    nodes: list[Node]
    edges: list[Edge]
    width: float
    height: float
    total_parameters: int = 0
    _by_path: dict = field(default_factory=dict, repr=False)

    def layer_nodes(self) -> list[Node]:
        """The nodes of the design's layers and blocks, in tree order."""
        return [n for n in self.nodes if n.kind in ("layer", "block")]

    def node_for(self, path: Path) -> Node | None:
        """The layer or block node at *path*, or None."""
        if not self._by_path:
            self._by_path = {n.path: n for n in self.layer_nodes()}
        return self._by_path.get(tuple(path))

    def edges_from(self, key: str) -> list[Edge]:
        return [e for e in self.edges if e.source == key]

    def drop_target(self, x: float, y: float, reach: float = 14) -> Edge | None:
        """Where a layer dropped at (*x*, *y*) goes: the edge within *reach* pixels (the nearest),
        else, inside a block's frame, the edge into its exit (a Parallel's nearest branch): the
        end of what the block holds. ``None`` outside both."""
        best, distance = None, reach
        for edge in self.edges:
            if edge.insert_path is None:
                continue
            d = min(_segment_distance(x, y, a, b) for a, b in zip(edge.points, edge.points[1:]))
            if d <= distance:
                best, distance = edge, d
        if best is not None:
            return best
        frames = [n for n in self.nodes if n.kind == "block" and n.x <= x <= n.x + n.width
                  and n.y <= y <= n.y + n.height]
        if not frames:
            return None
        inner = max(frames, key=lambda n: len(n.path))
        into_exit = [e for e in self.edges if e.target == inner.key + ".exit" and e.insert_path is not None]
        return min(into_exit, key=lambda e: abs(e.points[-2][0] - x), default=None)


def _segment_distance(x: float, y: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    return ((x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2) ** 0.5


# ------------------------------------------------------------------------------------------------
# Measuring: the size of each list and block, and where its entry/exit axis runs


@dataclass(frozen=True)
class _Size:
    width: float
    height: float
    axis: float  # x of the entry and exit, from the left edge


def _exit_size(spec) -> tuple[float, float]:
    if spec.type == "Parallel" and spec.params.get("merge", "concat") == "concat" or spec.type == "Repeat":
        return PILL_W, PILL_H
    return MERGE_D, MERGE_D


class _Layout:
    def __init__(self, specs: list, validation):
        self.specs = specs
        self.validation = validation
        self.total = max(1, validation.total_parameters)
        self.sizes: dict[int, _Size] = {}
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.geometry: dict[str, Node] = {}

    # -- measuring -------------------------------------------------------------------------------
    def series(self, specs: list) -> _Size:
        if not specs:
            return _Size(EMPTY_W, 0, EMPTY_W / 2)
        sizes = [self.measure(spec) for spec in specs]
        axis = max(s.axis for s in sizes)
        right = max(s.width - s.axis for s in sizes)
        return _Size(axis + right, sum(s.height for s in sizes) + GAP * (len(sizes) - 1), axis)

    def measure(self, spec) -> _Size:
        known = self.sizes.get(id(spec))
        if known is not None:
            return known
        if not is_block(spec.type):
            size = _Size(NODE_W, NODE_H, NODE_W / 2)
        else:
            exit_w, exit_h = _exit_size(spec)
            if spec.type == "Parallel":
                branches = [self.series(b) for b in spec.children] or [self.series([])]
                inner_w = sum(b.width for b in branches) + BRANCH_GAP * (len(branches) - 1)
                inner_h = max(b.height for b in branches)
                width = max(2 * PAD + inner_w, MIN_FRAME_W)
                axis = width / 2
            else:
                body = self.series(spec.children[0] if spec.children else [])
                left, right = max(body.axis, exit_w / 2), max(body.width - body.axis, exit_w / 2)
                lane_left = LANE if spec.type == "Repeat" else 0
                width = max(2 * PAD + left + right + LANE, MIN_FRAME_W)
                axis = (width - left - right - LANE) / 2 + lane_left + left
                inner_h = body.height
            body_gap = GAP if inner_h else 0
            size = _Size(width, TITLE_H + DOT + GAP + inner_h + body_gap + exit_h + PAD, axis)
        self.sizes[id(spec)] = size
        return size

    # -- placing ---------------------------------------------------------------------------------
    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        self.geometry[node.key] = node
        return node

    def connect(self, source: Node, target: Node, label: str, insert_path: Path | None,
                via_x: float | None = None) -> None:
        """An orthogonal edge from *source*'s bottom (a fork's centre) to *target*'s top (an exit
        node's side when it comes from beside it); *via_x*: down the line of an empty branch."""
        sx = source.x + source.width / 2
        sy = source.y + (source.height / 2 if source.kind == "fork" else source.height)
        tx = target.x + target.width / 2
        ty = target.y
        if via_x is not None and abs(via_x - sx) >= 0.5:
            cy = target.y + target.height / 2
            side = target.x if via_x < tx else target.x + target.width
            points = ((sx, sy), (via_x, sy), (via_x, cy), (side, cy))
            label_at = (via_x + 6, (sy + cy) / 2)
        elif abs(sx - tx) < 0.5:
            points = ((sx, sy), (tx, ty))
            label_at = (sx + 6, (sy + ty) / 2)
        elif source.kind == "fork":  # fan out: sideways at the fork, then down
            points = ((sx, sy), (tx, sy), (tx, ty))
            label_at = (tx + 6, (sy + ty) / 2)
        elif target.kind in ("merge", "repeat"):  # fan in: down, then into the exit's side
            cy = target.y + target.height / 2
            side = target.x if sx < tx else target.x + target.width
            points = ((sx, sy), (sx, cy), (side, cy))
            label_at = (sx + 6, (sy + cy) / 2)
        else:
            mid = (sy + ty) / 2
            points = ((sx, sy), (sx, mid), (tx, mid), (tx, ty))
            label_at = (tx + 6, mid)
        self.edges.append(Edge(source.key, target.key, label, points, label_at, "flow", insert_path,
                               f"{label} — drop a layer here to insert it"))

    def place_series(self, specs: list, results: list, list_path: Path, axis_x: float, top: float,
                     incoming: Node, label: str) -> tuple[Node, str]:
        """Place *specs* from *top* on the vertical line *axis_x*, the first fed from *incoming*
        along an edge labelled *label*; returns the last exit node and its output label."""
        y = top
        for index, spec in enumerate(specs):
            result = results[index] if index < len(results) else None
            path = list_path + (index,)
            size = self.measure(spec)
            entry, exit_, out = self.place(spec, result, path, axis_x - size.axis, y)
            self.connect(incoming, entry, label, path)
            incoming, label = exit_, out
            y += size.height + GAP
        return incoming, label

    def status(self, result) -> tuple[str, str, str | None]:
        if result is None:
            return "ok", "", None
        for severity in ("error", "warning"):
            for issue in result.issues:
                if issue.severity == severity:
                    return severity, issue.message, issue.fix.label if issue.fix else None
        return "ok", "", None

    def place(self, spec, result, path: Path, x: float, y: float) -> tuple[Node, Node, str]:
        """Place the layer or block *spec* with its top-left at (*x*, *y*); returns its entry
        node, its exit node and the label of the edge leaving it."""
        status, message, fix = self.status(result)
        params = result.params if result is not None else spec.params
        parameters = result.parameters if result is not None else 0
        out = shape_text(result.output_shape if result is not None else None)
        try:
            layer_type = get_layer_type(spec.type)
            detail, category = layer_type.describe(params), layer_type.category
        except (KeyError, TypeError, ValueError):
            detail, category = "", BLOCK_CATEGORY
        key = "n" + ".".join(map(str, path))
        where = path_text(self.specs, path)
        common = dict(category=category, parameters=parameters, share=parameters / self.total, status=status,
                      message=message, fix=fix, path_text=where)
        size = self.measure(spec)
        if not is_block(spec.type):
            node = self.add(Node(key, "layer", path, spec.type, spec.type, detail, x, y, size.width, size.height,
                                 **common))
            return node, node, out
        title = spec.type
        self.add(Node(key, "block", path, spec.type, title, detail, x, y, size.width, size.height, **common))
        axis_x = x + size.axis
        fork = self.add(Node(key + ".fork", "fork", path, spec.type, "", "", axis_x - DOT / 2, y + TITLE_H, DOT, DOT))
        body_top = y + TITLE_H + DOT + GAP
        exit_w, exit_h = _exit_size(spec)
        exit_y = y + size.height - PAD - exit_h
        children = result.children if result is not None else []
        if spec.type == "Parallel":
            merge = spec.params.get("merge", "concat")
            kind, exit_title = "merge", ("concat" if merge == "concat" else "+")
            branches = [self.series(b) for b in spec.children]
            inner_w = sum(b.width for b in branches) + BRANCH_GAP * (len(branches) - 1)
            exit_ = Node(key + ".exit", kind, path, spec.type, exit_title, f"{spec.type} ({merge})",
                         axis_x - exit_w / 2, exit_y, exit_w, exit_h, status=status, message=message, fix=fix)
            bx = x + (size.width - inner_w) / 2
            lasts = []
            for b, (branch, bsize) in enumerate(zip(spec.children, branches)):
                inner = children[b] if b < len(children) else []
                last, label = self.place_series(branch, inner, path + (b,), bx + bsize.axis, body_top, fork,
                                                shape_text(result.input_shape) if result else "?")
                lasts.append((last, label, path + (b, len(branch)), None if branch else bx + bsize.axis))
                bx += bsize.width + BRANCH_GAP
            self.add(exit_)
            for last, label, insert, via_x in lasts:
                self.connect(last, exit_, label, insert, via_x)
            return fork, exit_, out
        body = spec.children[0] if spec.children else []
        inner = children[0] if children else []
        in_label = shape_text(result.input_shape) if result else "?"
        if spec.type == "Repeat":
            times = spec.params.get("times", 2)
            exit_ = Node(key + ".exit", "repeat", path, spec.type, f"× {times}", f"{times} copies, each its own weights",
                         axis_x - exit_w / 2, exit_y, exit_w, exit_h, status=status, message=message, fix=fix)
        else:
            exit_ = Node(key + ".exit", "merge", path, spec.type, "+", "the sum of the layers and the shortcut",
                         axis_x - exit_w / 2, exit_y, exit_w, exit_h, status=status, message=message, fix=fix)
        last, label = self.place_series(body, inner, path + (0,), axis_x, body_top, fork, in_label)
        self.add(exit_)
        self.connect(last, exit_, label, path + (0, len(body)))
        bsize = self.series(body)
        if spec.type == "Residual":
            lane = axis_x + max(bsize.width - bsize.axis, exit_w / 2) + LANE / 2
            used = result.params.get("shortcut_used") if result is not None else None
            skip = "identity" if used in (None, "identity") else "projection"
            cy = exit_.y + exit_h / 2
            fy = fork.y + DOT / 2
            self.edges.append(Edge(fork.key, exit_.key, skip,
                                   ((axis_x + DOT / 2, fy), (lane, fy), (lane, cy), (exit_.x + exit_w, cy)),
                                   (lane + 4, (fy + cy) / 2), "skip", None, f"shortcut: {used or spec.params.get('shortcut')}"))
        else:
            lane = axis_x - max(bsize.axis, exit_w / 2) - LANE / 2
            cy = exit_.y + exit_h / 2
            fy = fork.y + DOT / 2
            self.edges.append(Edge(exit_.key, fork.key, f"× {times}",
                                   ((exit_.x, cy), (lane, cy), (lane, fy), (axis_x - DOT / 2, fy)),
                                   (lane + 4, (fy + cy) / 2), "loop", None, f"runs {times} times in a row"))
        return fork, exit_, out


def layout_diagram(layers, validation) -> Diagram:
    """Lay out *layers* (a :class:`~netstudio.core.design.stack.LayerStack` or a list of
    :class:`~netstudio.core.design.stack.LayerSpec`) with their *validation*
    (:meth:`LayerStack.validate <netstudio.core.design.stack.LayerStack.validate>` of the same
    layers) into a :class:`Diagram`."""
    specs = list(layers)
    layout = _Layout(specs, validation)
    body = layout.series(specs)
    width = max(body.width, NODE_W) + 2 * MARGIN
    axis_x = MARGIN + max(body.axis, NODE_W / 2)
    width = max(width, axis_x + max(body.width - body.axis, NODE_W / 2) + MARGIN)
    stack_issue = next((i for i in validation.issues if i.severity == "error"), None)
    in_text = shape_text(validation.input_shape)
    source = layout.add(Node("input", "input", None, "Input", "Input", in_text, axis_x - NODE_W / 2, MARGIN,
                             NODE_W, IO_H, status="error" if stack_issue else "ok",
                             message=stack_issue.message if stack_issue else ""))
    top = MARGIN + IO_H + GAP
    last, label = layout.place_series(specs, validation.layers, (), axis_x, top, source, in_text)
    out_y = top + body.height + (GAP if specs else 0)
    total = validation.total_parameters
    sink = layout.add(Node("output", "output", None, "Output", "Output",
                           f"{shape_text(validation.output_shape)} · {count_text(total)} params",
                           axis_x - NODE_W / 2, out_y, NODE_W, IO_H, parameters=total))
    layout.connect(last, sink, label, (len(specs),))
    return Diagram(layout.nodes, layout.edges, width, out_y + IO_H + MARGIN, total)
