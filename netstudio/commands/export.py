"""``netstudio export RUN_DIR --format FORMAT --out PATH``: a trained run as a model file.

A run folder from ``netstudio train`` already holds ``model.pt2`` (and ``model.onnx`` with
``--onnx``); this writes any format from its weights, at any time.
"""

from __future__ import annotations

from netstudio.core.export.common import FORMATS
from netstudio.core.export.exporter import default_export_path, export_run


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "export", help="export a trained run as .pt2, TorchScript, ONNX, safetensors or Python code",
        description="Export the model of a run folder (written by 'netstudio train'). The file takes raw "
                    "inputs (preprocessing inside) and returns class probabilities or values in the "
                    "target's units; it is checked against the trained model before it is written.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by 'netstudio train'")
    parser.add_argument("--format", choices=FORMATS, default="pt2",
                        help="pt2 (torch.export, default), torchscript (.pt), onnx, safetensors, or python "
                             "(a folder with model.py, weights, train.py)")
    parser.add_argument("--out", metavar="PATH",
                        help="file to write (a new or empty folder for --format python); default: "
                             "RUN_DIR/model.<suffix> (RUN_DIR/python)")


def run(args) -> int:
    from netstudio.core.runs.folder import load_run

    run_ = load_run(args.run_dir)
    out = args.out if args.out is not None else default_export_path(run_, args.format)
    result = export_run(run_, args.format, out)
    check = ("" if result.parity_max_abs_diff is None
             else f", max abs difference to the trained model {result.parity_max_abs_diff:.2g}")
    print(f"wrote {result.path} ({args.format}{check})")
    for note in result.notes:
        print(f"note: {note}")
    return 0
