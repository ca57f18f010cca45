"""``netstudio summary PROJECT [--json] [--input-shape N,...]``: the layer table and its issues."""

from __future__ import annotations

import argparse
import json
import sys

from netstudio.core.design.report import format_table
from netstudio.core.errors import DataError
from netstudio.core.project import Project, load_project


def add_parser(sub) -> None:
    parser = sub.add_parser("summary", help="print the layer table: shapes, parameters, issues",
                            description="Check a project's layers against its data and print the result.")
    parser.add_argument("project", help="a .nsproj file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--input-shape", type=parse_shape, metavar="N,...",
                        help="input shape without the batch dimension, e.g. 3,32,32 (default: from the data)")
    parser.add_argument("--output-width", type=int, metavar="N", help='what out_features "auto" becomes')


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape like 3,32,32") from None
    if not shape or any(s < 1 for s in shape):
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape of positive sizes")
    return shape


def input_of(project: Project, input_shape: tuple[int, ...] | None,
             output_width: int | None) -> tuple[tuple[int, ...], int | None, int | None]:
    """The input shape, output width and vocabulary (a text input's) to check the stack against.

    ``--input-shape`` (with ``--output-width``) overrides the data, which is then not read.
    Otherwise both come from the project's data through
    :func:`~netstudio.core.data.load.describe_data`, which reads as little as the source allows
    (image headers, array headers). Unreadable data, or no data and no ``--input-shape``, is a
    :class:`DataError` (exit status 2).
    """
    if input_shape is not None:
        return input_shape, output_width, None
    if not project.data:
        raise DataError(f"{project.path}: the project has no data, so the input shape is unknown: "
                        "choose a dataset or give --input-shape")
    from netstudio.core.data.load import describe_inputs

    shape, width, vocabulary = describe_inputs(project.data, project.base_dir)
    return shape, width if output_width is None else output_width, vocabulary


def run(args) -> int:
    project = load_project(args.project)
    shape, width, vocabulary = input_of(project, args.input_shape, args.output_width)
    validation = project.stack.validate(shape, width, batch_size=project.training["batch_size"], vocabulary=vocabulary)
    if args.json:
        json.dump(validation.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_table(project.name, validation))
    return 0


