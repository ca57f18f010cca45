"""A :class:`~netstudio.core.design.diagram.Diagram` as plain-text SVG, in a light or dark theme.

:func:`diagram_svg` writes frames, then edges (arrows, their shape labels), then nodes, each
layer a ``<g class="layer" data-path="model.layers[2].layers[0]">`` with a ``<title>`` (the
tooltip: settings, parameters, the issue and its fix). Every text is escaped; long texts are
shortened with "…" to fit their box. Vector all the way, so it stays crisp at any size;
``netstudio diagram`` and File › Export Diagram… write it (a PNG is this SVG rendered by Qt).
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from netstudio.core.design.diagram import (
    CATEGORY_COLOURS,
    STATUS_COLOURS,
    Diagram,
    Node,
    count_text,
)

#: The colours of each theme.
THEMES: dict[str, dict[str, str]] = {
    "light": {"background": "#ffffff", "text": "#1d232b", "muted": "#5b6572", "edge": "#6b7480",
              "skip": "#2f6fd6", "frame": "#f3f5f8", "frame_line": "#b5bcc6", "io": "#eef3fb", "io_line": "#2f6fd6",
              "halo": "#ffffff"},
    "dark": {"background": "#1b1e23", "text": "#e8ebef", "muted": "#a3abb6", "edge": "#8c95a1",
             "skip": "#6aa2ff", "frame": "#23272e", "frame_line": "#4a515b", "io": "#1f2a3a", "io_line": "#6aa2ff",
             "halo": "#1b1e23"},
}
FONT = "DejaVu Sans, Segoe UI, Helvetica, Arial, sans-serif"
#: Average glyph width as a share of the font size, to shorten texts that would overflow.
GLYPH = 0.56


def fit(text: str, width: float, size: float) -> str:
    """*text* shortened with "…" to about *width* pixels at font *size*."""
    room = max(1, int(width / (size * GLYPH)))
    return text if len(text) <= room else text[:max(0, room - 1)].rstrip() + "…"


def theme_index(theme: str) -> int:
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r} (known: {', '.join(THEMES)})")
    return 0 if theme == "light" else 1


def _text(x: float, y: float, text: str, size: float, fill: str, anchor: str = "start", weight: str = "normal",
          halo: str | None = None) -> str:
    """A text element; with *halo*, a copy outlined in that colour behind it (paint-order is not
    SVG Tiny, which Qt renders) keeps it readable over lines."""
    bold = ' font-weight="bold"' if weight == "bold" else ""
    element = (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{bold} fill={{fill}}'
               f'{{extra}}>{escape(text)}</text>')
    plain = element.format(fill=quoteattr(fill), extra="")
    if not halo:
        return plain
    behind = element.format(fill=quoteattr(halo), extra=f' stroke={quoteattr(halo)} stroke-width="3" '
                                                         'stroke-linejoin="round"')
    return behind + plain


def _arrow(points, colour: str) -> str:
    """The arrowhead at the end of a polyline, as a plain triangle (Qt draws no markers)."""
    (x0, y0), (x1, y1) = points[-2], points[-1]
    length = max(1e-6, ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    bx, by = x1 - 8 * ux, y1 - 8 * uy
    corners = ((x1, y1), (bx - 4 * uy, by + 4 * ux), (bx + 4 * uy, by - 4 * ux))
    return f'<polygon points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in corners)}" fill={quoteattr(colour)}/>'


def _title(node: Node) -> str:
    return f"<title>{escape(node.tooltip())}</title>"


def diagram_svg(diagram: Diagram, theme: str = "light", width: int | None = None) -> str:
    """The SVG document of *diagram*; *width* in pixels scales it (default: its own size)."""
    which = theme_index(theme)
    colours = THEMES[theme]
    scale = (width / diagram.width) if width else 1.0
    w, h = diagram.width * scale, diagram.height * scale
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
           f'viewBox="0 0 {diagram.width:.0f} {diagram.height:.0f}" font-family={quoteattr(FONT)}>',
           ]
    out.append(f'<rect x="0" y="0" width="{diagram.width:.0f}" height="{diagram.height:.0f}" '
               f'fill={quoteattr(colours["background"])}/>')
    for node in diagram.nodes:
        if node.kind == "block":
            out.append(_frame(node, colours, which))
    for edge in diagram.edges:
        colour = colours["edge"] if edge.kind == "flow" else colours["skip"]
        dash = ' stroke-dasharray="5 4"' if edge.kind == "loop" else ""
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in edge.points)
        out.append(f'<polyline class="edge {edge.kind}" points="{points}" fill="none" stroke={quoteattr(colour)} '
                   f'stroke-width="1.6"{dash}><title>{escape(edge.tooltip)}</title></polyline>')
        out.append(_arrow(edge.points, colour))
        if edge.label:
            out.append(_text(edge.label_at[0], edge.label_at[1] + 4, edge.label, 10.5,
                             colours["muted"] if edge.kind == "flow" else colours["skip"], halo=colours["halo"]))
    for node in diagram.nodes:
        if node.kind == "layer":
            out.append(_layer(node, colours, which))
        elif node.kind == "block":
            out.append(_caption(node, colours, which))
        elif node.kind in ("input", "output"):
            out.append(_io(node, colours, which))
        elif node.kind == "fork":
            cx, cy = node.centre
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{node.width / 2:.1f}" fill={quoteattr(colours["edge"])}/>')
        elif node.kind in ("merge", "repeat"):
            out.append(_exit(node, colours, which))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _outline(node: Node, which: int) -> tuple[str, str]:
    return STATUS_COLOURS[node.status][which], "2.4" if node.status != "ok" else "1"


def _layer(node: Node, colours: dict, which: int) -> str:
    fill = CATEGORY_COLOURS.get(node.category, CATEGORY_COLOURS["Core"])[which]
    stroke, stroke_width = _outline(node, which)
    count = f"{count_text(node.parameters)} · {node.share:.0%}" if node.parameters else ""
    title_room = node.width - 20 - (len(count) * 10 * GLYPH + 8 if count else 0)
    lines = [f'<g class="layer" data-path={quoteattr(node.path_text)} data-status="{node.status}">', _title(node),
             f'<rect x="{node.x:.1f}" y="{node.y:.1f}" width="{node.width:.1f}" height="{node.height:.1f}" rx="6" '
             f'fill={quoteattr(fill)} stroke={quoteattr(stroke)} stroke-width="{stroke_width}"/>',
             _text(node.x + 10, node.y + 19, fit(node.type, title_room, 12.5), 12.5, colours["text"], weight="bold")]
    if count:
        lines.append(_text(node.x + node.width - 10, node.y + 19, count, 10, colours["muted"], anchor="end"))
    if node.status != "ok":
        lines.append(_text(node.x + 10, node.y + 36, fit(node.message, node.width - 20, 10.5), 10.5, stroke))
    elif node.detail:
        lines.append(_text(node.x + 10, node.y + 36, fit(node.detail, node.width - 20, 10.5), 10.5, colours["muted"]))
    lines.append("</g>")
    return "\n".join(lines)


def _frame(node: Node, colours: dict, which: int) -> str:
    stroke, stroke_width = _outline(node, which)
    if node.status == "ok":
        stroke = colours["frame_line"]
    return "\n".join([
        f'<g class="block" data-path={quoteattr(node.path_text)} data-status="{node.status}">', _title(node),
        f'<rect x="{node.x:.1f}" y="{node.y:.1f}" width="{node.width:.1f}" height="{node.height:.1f}" rx="10" '
        f'fill={quoteattr(colours["frame"])} fill-opacity="0.85" stroke={quoteattr(stroke)} '
        f'stroke-width="{stroke_width}" stroke-dasharray="6 3"/>',
        "</g>"])


def _caption(node: Node, colours: dict, which: int) -> str:
    """A block's caption, drawn over the edges (with a halo) so that the incoming edge does not
    cross it out."""
    stroke, _ = _outline(node, which)
    caption = " · ".join(p for p in (node.type, node.detail, f"{node.parameters:,} params" if node.parameters else "")
                         if p)
    if node.status != "ok":
        caption = f"{node.type} · {node.message}"
    return _text(node.x + 10, node.y + 15, fit(caption, node.width - 20, 11), 11,
                 colours["text"] if node.status == "ok" else stroke, weight="bold", halo=colours["frame"])


def _io(node: Node, colours: dict, which: int) -> str:
    stroke, _ = _outline(node, which)
    stroke = stroke if node.status != "ok" else colours["io_line"]
    cx = node.x + node.width / 2
    text = f"{node.title}  {node.detail}"
    return "\n".join([
        f'<g class="{node.kind}">', _title(node),
        f'<rect x="{node.x:.1f}" y="{node.y:.1f}" width="{node.width:.1f}" height="{node.height:.1f}" '
        f'rx="{node.height / 2:.1f}" fill={quoteattr(colours["io"])} stroke={quoteattr(stroke)} stroke-width="1.6"/>',
        _text(cx, node.y + node.height / 2 + 4.5, fit(text, node.width - 12, 12), 12, colours["text"], "middle"),
        "</g>"])


def _exit(node: Node, colours: dict, which: int) -> str:
    stroke, stroke_width = _outline(node, which)
    stroke = stroke if node.status != "ok" else colours["skip"]
    cx, cy = node.centre
    if node.width == node.height:  # the ⊕ of a sum
        shape = (f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{node.width / 2:.1f}" fill={quoteattr(colours["background"])} '
                 f'stroke={quoteattr(stroke)} stroke-width="{stroke_width if node.status != "ok" else 1.8}"/>'
                 f'<path d="M{cx - 7:.1f},{cy:.1f} H{cx + 7:.1f} M{cx:.1f},{cy - 7:.1f} V{cy + 7:.1f}" '
                 f'stroke={quoteattr(stroke)} stroke-width="2"/>')
        label = ""
    else:
        shape = (f'<rect x="{node.x:.1f}" y="{node.y:.1f}" width="{node.width:.1f}" height="{node.height:.1f}" '
                 f'rx="{node.height / 2:.1f}" fill={quoteattr(colours["background"])} stroke={quoteattr(stroke)} '
                 f'stroke-width="1.8"/>')
        label = _text(cx, cy + 4, node.title, 11, colours["text"], "middle", "bold")
    return "\n".join([f'<g class="{node.kind}" data-path={quoteattr(node.path_text)}>',
                      f"<title>{escape(node.detail)}</title>", shape, label, "</g>"])
