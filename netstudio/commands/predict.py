"""``netstudio predict MODEL DATA [--out FILE]``: predictions of an exported model as CSV.

MODEL is an exported ``.pt2``, ``.pt`` (TorchScript) or ``.onnx`` file, read only through safe
loaders (never unpickled); DATA is a CSV file, one image or a folder of images (or an ``.npz`` with
an array ``X``). The CSV has a ``prediction`` column and, for classification, one
``prob_<class>`` column per class; it goes to stdout unless ``--out`` names a file.
"""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "predict", help="predict with an exported model (.pt2, .pt or .onnx) on a CSV file or images",
        description="Predict with an exported model on raw data: a CSV file (the target column, if "
                    "present, is ignored), one image or a folder of images. Writes CSV: prediction, "
                    "then prob_<class> for each class.")
    parser.add_argument("model", metavar="MODEL", help="an exported .pt2, .pt or .onnx file")
    parser.add_argument("data", metavar="DATA", help="a CSV file, an image, or a folder of images")
    parser.add_argument("--out", metavar="FILE", help="write the CSV here instead of to stdout")


def run(args) -> int:
    from netstudio.core.errors import ExportError
    from netstudio.core.export.predict import predict_file
    from netstudio.core.fileio import atomic_write_text, refuse_overwriting_inputs

    if args.out is not None:
        refuse_overwriting_inputs(args.out, [args.model, args.data], ExportError)
    predictions = predict_file(args.model, args.data)
    for warning in predictions.warnings:
        print(f"netstudio: warning: {warning}", file=sys.stderr)
    text = predictions.to_csv()
    if args.out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    try:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)  # as train --out does
        atomic_write_text(args.out, text)
    except OSError as exc:
        raise ExportError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    return 0
