"""R² of the forecaster templates on the energy-load sample's validation period, against the
"repeat the last value" baseline on the very same validation windows (issue 22).

``python benchmarks/forecast_baseline.py [--epochs N]`` trains the lstm-forecaster and
cnn1d-forecaster templates on ``samples/energy-load.nsproj``'s data (seed 0, CPU) and prints one
line per model: validation R² and MAE in MW, then the baseline's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def r2(truth: np.ndarray, guess: np.ndarray) -> float:
    return float(1.0 - np.sum((truth - guess) ** 2) / np.sum((truth - truth.mean()) ** 2))


def main() -> None:
    import torch

    from netstudio.core.design.templates import get_template
    from netstudio.core.project import load_project
    from netstudio.core.training.session import prepare_session

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    sample = json.loads((ROOT / "samples" / "energy-load.nsproj").read_text())
    with tempfile.TemporaryDirectory() as folder:
        for key in ("lstm-forecaster", "cnn1d-forecaster"):
            template = get_template(key)
            doc = {**sample, "name": key, "model": {"layers": [dict(c) for c in template.layers]},
                   "training": {**sample["training"], **template.training, "epochs": args.epochs, "device": "cpu"}}
            doc["data"] = {**doc["data"], "path": str(ROOT / "samples" / "energy-load.csv")}
            path = Path(folder) / f"{key}.nsproj"
            path.write_text(json.dumps(doc))
            session = prepare_session(load_project(path))
            assert session.fit().ok
            ds = session.dataset
            session.model.eval()
            with torch.no_grad():
                out = session.model(torch.from_numpy(ds.X_val)).numpy()[:, 0]
            forecast = ds.preprocessor.inverse_target(out)
            rows = ds.series.target_rows(1)
            truth = ds.series.target[rows]
            print(f"{key:18s} val R² {r2(truth, forecast):.4f}  MAE {np.abs(truth - forecast).mean():.2f} MW  "
                  f"after {args.epochs} epochs ({ds.n_train} training, {len(rows)} validation windows)")
        last = ds.series.target[rows - ds.series.horizon]
        print(f"{'repeat last value':18s} val R² {r2(truth, last):.4f}  MAE {np.abs(truth - last).mean():.2f} MW")


if __name__ == "__main__":
    main()
