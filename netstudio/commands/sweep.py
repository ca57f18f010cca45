"""``netstudio sweep PROJECT``: search the project's hyper-parameters (its ``sweep`` section).

One line per trial, then the best trial. Writes ``DIR/trials.csv``, ``DIR/best.nsproj`` and a
run folder per trial (``DIR/trial-NNNN/``); both files are rewritten after every trial, so an
interrupted sweep keeps what it found. Ctrl+C ends the sweep after the current trial; a second
Ctrl+C stops that trial too. Several processes given the same ``--storage`` (and ``--study``)
share one study, on one machine or many.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import signal
import sys
from pathlib import Path

from netstudio.commands.train import positive_int
from netstudio.core.errors import ConfigError, TrainingError
from netstudio.core.strings import slug


def add_parser(sub) -> None:
    parser = sub.add_parser("sweep", help="search a project's hyper-parameters (its sweep section) with Optuna",
                            description="Run trials of the project's sweep section, each a training run; writes "
                                        "trials.csv, best.nsproj and a run folder per trial.")
    parser.add_argument("project", help="a .nsproj file with a sweep section")
    parser.add_argument("--trials", type=positive_int, metavar="N", help="trials this process runs (default: the "
                                                                         "sweep section's trials)")
    parser.add_argument("--timeout", type=_seconds, metavar="S", help="start no new trial after S seconds (default: "
                                                                      "the sweep section's timeout_s)")
    parser.add_argument("--storage", metavar="URL", help="share the study: a journal file's path (a shared "
                                                         "filesystem) or an SQLAlchemy URL (sqlite:///sweep.db, "
                                                         "postgresql://...); default: in memory")
    parser.add_argument("--study", metavar="NAME", help="the study's name in the storage (default: the project's name)")
    parser.add_argument("--out", metavar="DIR", help="sweep folder (default: sweeps/<name>-<timestamp>/ beside the "
                                                     "project)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def default_sweep_dir(project, when: _dt.datetime | None = None) -> Path:
    """``sweeps/<name>-<YYYYmmdd-HHMMSS>`` beside the project (a suffix if it already exists)."""
    when = when or _dt.datetime.now()
    base = project.base_dir / "sweeps" / f"{slug(project.name)}-{when:%Y%m%d-%H%M%S}"
    path, n = base, 2
    while path.exists():
        path = base.with_name(f"{base.name}-{n}")
        n += 1
    return path


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def trial_line(result, metric: str) -> str:
    """One trial as the command line prints it."""
    parts = [f"trial {result.number:>3}", f"{result.state:<8}"]
    if result.value is not None:
        parts.append(f"{metric} {result.value:.4f}")
    parts.append(" ".join(f"{path}={format_value(v)}" for path, v in result.params.items()))
    if result.duration_s is not None:
        parts.append(f"{result.duration_s:.1f}s")
    if result.state != "COMPLETE" and result.reason:
        parts.append(f"({result.reason})")
    return "  ".join(p for p in parts if p)


def run(args) -> int:
    from netstudio.core.project import load_project
    from netstudio.core.search.sweep import Sweep, SweepListener

    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    project = load_project(args.project)
    out = Path(args.out).absolute() if args.out else default_sweep_dir(project)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} already exists and is not empty: choose another --out folder")
    sweep = Sweep(project, storage=args.storage, study_name=args.study, run_dir=lambda n: out / f"trial-{n:04d}")
    config = sweep.config
    trials = args.trials or config.trials
    sweep.prepare()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {out}: {exc.strerror or exc}") from None
    where = f"storage {args.storage}" if args.storage else "in memory"
    say(f"Sweeping {project.name!r}: {trials} trial{'s' if trials != 1 else ''} of {', '.join(sweep.parameters)} "
        f"({config.sampler} sampler, {config.pruner} pruner, {'maximize' if config.maximize else 'minimize'} "
        f"{config.metric}); study {sweep.study_name!r} {where}")

    class Printer(SweepListener):
        def on_trial_end(self, result):
            say(trial_line(result, config.metric))
            sweep.write(out)

    previous = _stop_on_ctrl_c(sweep, announce=not args.quiet)
    try:
        sweep.run(trials=trials, timeout_s=args.timeout, listeners=[Printer()])
    finally:
        signal.signal(signal.SIGINT, previous)
    best_file = sweep.write(out)
    best = sweep.best()
    if best is not None:
        say(f"best trial {best.number}: {config.metric} {best.value:.4f}  "
            + " ".join(f"{p}={format_value(v)}" for p, v in best.params.items()))
        say(f"best values saved to {best_file}")
    say(f"sweep saved to {out}")
    if sweep.stopped:
        return 130
    if best is None:
        raise TrainingError(f"no trial completed (see {out / 'trials.csv'})")
    return 0


def _stop_on_ctrl_c(sweep, announce: bool):
    """First Ctrl+C: end after the current trial; the second stops that trial; a third aborts."""
    previous = signal.getsignal(signal.SIGINT)

    def first(signum, frame):
        if announce:
            print("\nstopping after this trial (Ctrl+C again to stop it now)...", file=sys.stderr, flush=True)
        sweep.request_stop()
        signal.signal(signal.SIGINT, second)

    def second(signum, frame):
        if announce:
            print("\nstopping the current trial...", file=sys.stderr, flush=True)
        sweep.request_stop(now=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, first)
    return previous
