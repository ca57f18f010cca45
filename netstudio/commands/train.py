"""``netstudio train PROJECT``: train headless and write a run folder.

One line per epoch (a progress bar within long epochs on a terminal), then the run folder.
Ctrl+C stops after the current batch and still saves the run; a second Ctrl+C aborts.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import time

from netstudio.core.errors import TrainingError
from netstudio.core.project import load_project
from netstudio.core.training import Callback


def add_parser(sub) -> None:
    parser = sub.add_parser("train", help="train a project without the window and save the run",
                            description="Train a project headless; writes metrics.csv, summary.json, the "
                                        "model files and the exact configuration into a run folder.")
    parser.add_argument("project", help="a .nsproj file")
    parser.add_argument("--data", metavar="PATH", help="train on this file or image folder instead of the project's data")
    parser.add_argument("--epochs", type=positive_int, metavar="N", help="number of epochs (default: the project's)")
    parser.add_argument("--device", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps (default: the project's)")
    parser.add_argument("--seed", type=non_negative_int, metavar="N", help="training seed (default: the project's)")
    parser.add_argument("--out", metavar="DIR", help="run folder (default: runs/<name>-<timestamp>/ beside the project)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a non-negative integer")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def format_epoch(metrics, epochs: int) -> str:
    width = len(str(epochs))
    parts = [f"epoch {metrics.epoch:>{width}}/{epochs}", f"train_loss {_fmt(metrics.train_loss)}"]
    if metrics.val_loss is not None:
        parts.append(f"val_loss {_fmt(metrics.val_loss)}")
    for key, value in metrics.values.items():
        parts.append(f"{key} {_fmt(value)}")
    parts.append(f"{metrics.samples_per_second:,.0f} samples/s")
    parts.append(f"{metrics.seconds:.2f}s")
    return "  ".join(parts)


def _fmt(value: float) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"


class ConsolePrinter(Callback):
    """Epoch lines on stdout; a progress bar on stderr within epochs that take more than a second."""

    def __init__(self, epochs: int, stream=sys.stdout, bar_stream=sys.stderr):
        self.epochs, self.stream, self.bar_stream = epochs, stream, bar_stream
        self.bar = bar_stream.isatty()
        self.epoch_started = time.perf_counter()
        self.last_draw = 0.0
        self.drawn = False

    def on_fit_start(self, start):
        self.epochs = start.first_epoch + start.epochs - 1
        self.epoch_started = time.perf_counter()

    def on_batch_end(self, state):
        if not self.bar:
            return
        now = time.perf_counter()
        if now - self.epoch_started < 1.0 or now - self.last_draw < 0.2:
            return
        self.last_draw = now
        done = state.step / state.steps_per_epoch
        filled = int(done * 30)
        eta = (now - self.epoch_started) * (1 - done) / max(done, 1e-9)
        self.bar_stream.write(f"\repoch {state.epoch}/{self.epochs} [{'#' * filled}{'.' * (30 - filled)}] "
                              f"{state.step}/{state.steps_per_epoch} ETA {eta:4.0f}s ")
        self.bar_stream.flush()
        self.drawn = True

    def on_epoch_end(self, metrics):
        if self.drawn:
            self.bar_stream.write("\r\033[K")
            self.drawn = False
        print(format_epoch(metrics, self.epochs), file=self.stream, flush=True)
        self.epoch_started = time.perf_counter()


def run(args) -> int:
    from netstudio.core.runs import write_run
    from netstudio.core.session import prepare_session

    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    project = load_project(args.project)
    session = prepare_session(project, data_path=args.data, epochs=args.epochs, device=args.device, seed=args.seed)
    data = session.dataset
    say(f"Training {project.name!r} on {session.trainer.device}: {data.n_train:,} training and {data.n_val:,} "
        f"validation samples, {data.task}" + (f" ({len(data.classes)} classes)" if data.classes else "")
        + f", {session.validation.total_parameters:,} parameters")
    for line in list(getattr(data.summary, "notes", [])) + [f"warning: {w}" for w in getattr(data.summary, "warnings", [])]:
        say(f"  {line}")
    callbacks = [] if args.quiet else [ConsolePrinter(session.config.epochs)]
    interrupted = _stop_on_ctrl_c(session)
    try:
        summary = session.fit(callbacks)
    finally:
        signal.signal(signal.SIGINT, interrupted)
    folder = write_run(session, summary, args.out)
    if summary.best_epoch is not None and summary.best():
        best = summary.best()
        extra = "  ".join(f"{k} {_fmt(v)}" for k, v in best.values.items())
        say(f"best epoch {summary.best_epoch}: val_loss {_fmt(best.val_loss)}  {extra}".rstrip())
    if summary.status in ("stopped", "early_stopped"):
        say(summary.message)
    say(f"run saved to {folder}")
    if not summary.ok:
        raise TrainingError(f"{summary.message} (run saved to {folder})")
    return 130 if summary.status == "stopped" else 0


def _stop_on_ctrl_c(session):
    """First Ctrl+C: stop after this batch and save; the second one interrupts for real."""
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        print("\nstopping after this batch (Ctrl+C again to abort)...", file=sys.stderr, flush=True)
        session.trainer.request_stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, handler)
    return previous
