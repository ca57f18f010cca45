"""``netstudio diagram PROJECT --out FILE.svg|FILE.png [--width PX] [--theme light|dark]``.

Lays the project's design out as the window's Diagram view shows it
(:func:`netstudio.core.design.diagram.layout_diagram`: a node per layer, the shapes on the edges,
blocks framed) and writes it as SVG, or as PNG rendered by Qt offscreen
(:mod:`netstudio.ui.designer.diagram_export`). The input shape: ``--input-shape``, else the
project's data, else the shape stored in the project, else one the first layer accepts.
"""

from __future__ import annotations

from pathlib import Path

from netstudio.commands.summary import input_of, parse_shape
from netstudio.commands.train import positive_int
from netstudio.core.design.diagram_svg import THEMES
from netstudio.core.design.templates import suggest_input_shape
from netstudio.core.errors import ConfigError, DataError, ProjectError
from netstudio.core.project import load_project, read_input_shape


def add_parser(sub) -> None:
    parser = sub.add_parser("diagram", help="draw the design as an SVG or PNG diagram, shapes on every edge",
                            description="Draw a project's design: a node per layer (blocks framed), the shape "
                                        "that flows along every edge, errors in red; as SVG or PNG.")
    parser.add_argument("project", help="a .nsproj file")
    parser.add_argument("--out", required=True, metavar="FILE.svg|FILE.png", help="the file to write")
    parser.add_argument("--width", type=positive_int, metavar="PX",
                        help="width in pixels (default: the diagram's own size; the height follows)")
    parser.add_argument("--theme", choices=sorted(THEMES), default="light", help="colours (default light)")
    parser.add_argument("--input-shape", type=parse_shape, metavar="N,...",
                        help="input shape without the batch dimension (default: from the data or the project)")


def run(args) -> int:
    from netstudio.core.design.diagram import layout_diagram

    out = Path(args.out)
    if out.suffix.lower() not in (".svg", ".png"):
        raise ConfigError(f"--out {out}: give a .svg or .png file name")
    if out.is_dir():
        raise DataError(f"--out {out}: is a folder, give a .svg or .png file name")
    if not out.absolute().parent.is_dir():
        raise DataError(f"--out {out}: the folder {out.absolute().parent} does not exist")
    project = load_project(args.project)
    if args.input_shape is None and not project.data:
        try:
            shape, width = read_input_shape(project) or suggest_input_shape(project.stack), None
        except ValueError as exc:
            raise ProjectError(f"{project.path}: {exc}") from None
    else:
        shape, width = input_of(project, args.input_shape, None)
    validation = project.stack.validate(shape, width, batch_size=project.training["batch_size"])
    diagram = layout_diagram(project.stack, validation)
    from netstudio.ui.designer.diagram_export import write_diagram

    try:
        write_diagram(out, diagram, args.theme, args.width)
    except ValueError as exc:
        raise ConfigError(f"--width: {exc}") from None
    nodes = len(diagram.layer_nodes())
    print(f"{out}: {nodes} layers, {validation.total_parameters:,} parameters"
          + ("" if validation.valid else f", {len(validation.errors())} errors shown in red"))
    return 0
