"""``netstudio lr-find PROJECT [--out FILE.csv]``: the learning-rate range test.

Trains a copy of the project's model for ``--steps`` steps with a rate rising exponentially from
1e-7 to 10, prints what it did, optionally writes ``rate,loss,smoothed_loss`` per step, and ends
with the suggested learning rate alone on the last line (for scripts: ``$(netstudio lr-find p | tail -1)``).
"""

from __future__ import annotations

from pathlib import Path

from netstudio.commands.train import positive_int
from netstudio.core.errors import DataError
from netstudio.core.fileio import atomic_write_text
from netstudio.core.project import load_project
from netstudio.core.training.lr_finder import STEPS


def add_parser(sub) -> None:
    parser = sub.add_parser("lr-find", help="find a good learning rate (range test); prints it last",
                            description="Train a copy of the model with an exponentially rising learning rate "
                                        "and suggest a rate; the last line of the output is the rate alone.")
    parser.add_argument("project", help="a .nsproj file")
    parser.add_argument("--out", metavar="FILE.csv", help="write rate,loss,smoothed_loss per step to this CSV file")
    parser.add_argument("--steps", type=positive_int, default=STEPS, metavar="N", help=f"steps (default {STEPS})")
    parser.add_argument("--device", metavar="DEVICE", help="where to run (default: the project's)")


def run(args) -> int:
    from netstudio.core.training.lr_finder import find_learning_rate
    from netstudio.core.training.session import prepare_session

    out = Path(args.out) if args.out else None
    if out is not None and out.is_dir():
        raise DataError(f"--out {out}: is a folder, give a .csv file name")
    if out is not None and not out.absolute().parent.is_dir():
        raise DataError(f"--out {out}: the folder {out.absolute().parent} does not exist")
    if args.steps < 2:
        raise DataError("--steps: the range test needs at least 2 steps")
    session = prepare_session(load_project(args.project), device=args.device)
    test = find_learning_rate(session, steps=args.steps)
    print(f"range test of {session.project.name!r} on {session.trainer.device}: {len(test.rates)} steps, "
          f"rate {test.rates[0]:.3g} to {test.rates[-1]:.3g}" + (" (stopped: the loss diverged)" if test.stopped_early
                                                                 else ""))
    print(f"lowest smoothed loss {min(test.smoothed):.4g} at rate {test.best_rate:.3g}; suggested rate a tenth of it")
    if out is not None:
        atomic_write_text(out, test.to_csv())
        print(f"losses written to {out}")
    print(f"{test.suggestion:g}")
    return 0
