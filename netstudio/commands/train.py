"""``netstudio train PROJECT``: train headless and write a run folder.

One line per epoch (a progress bar within long epochs on a terminal), then the run folder.
Ctrl+C stops after the current batch and still saves the run; a second Ctrl+C aborts.

Started by ``torchrun`` (several processes, maybe several machines), every process trains its
share with DistributedDataParallel; rank 0 alone prints and writes the run folder, and an error on
any rank is reported as ``netstudio: error: rank R: ...`` (see :mod:`netstudio.core.training.distributed`).
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import signal
import sys
import time
import traceback
from typing import NoReturn

from netstudio.core.config import TrainConfig, settings
from netstudio.core.errors import TrainingError
from netstudio.core.project import load_project
from netstudio.core.training.states import Callback


def add_parser(sub) -> None:
    parser = sub.add_parser("train", help="train a project without the window and save the run",
                            description="Train a project headless; writes metrics.csv, summary.json, the "
                                        "model files and the exact configuration into a run folder.")
    parser.add_argument("project", help="a .nsproj file")
    parser.add_argument("--data", metavar="PATH", help="train on this file or image folder instead of the project's data")
    parser.add_argument("--epochs", type=positive_int, metavar="N", help=_project_default("epochs"))
    parser.add_argument("--device", metavar="DEVICE", help=_project_default("device"))
    parser.add_argument("--seed", type=non_negative_int, metavar="N", help=_project_default("seed"))
    parser.add_argument("--out", metavar="DIR", help="run folder (default: runs/<name>-<timestamp>/ beside the project)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="go on from this run folder's weights, optimizer and scheduler state for --epochs more "
                             "epochs, into a new run folder whose metrics.csv continues the epoch numbers")
    parser.add_argument("--onnx", action="store_true",
                        help="also write model.onnx into the run folder (needs the onnx extra; "
                             "'netstudio export RUN --format onnx' writes it later)")


def _project_default(key: str) -> str:
    """The help of a training setting the command line overrides, from the schema."""
    text = settings(TrainConfig)[key].help
    return f"{text[0].lower()}{text[1:]} (default: the project's)"


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
    from netstudio.core.training.distributed import Distributed, rank_failure

    distributed = Distributed.from_env()
    if distributed is None:
        return _train(args)
    try:
        code = _train(args, distributed)
    except KeyboardInterrupt:
        _leave(distributed, 130, "netstudio: interrupted" if distributed.is_main else None)
    except BrokenPipeError:  # rank 0's reader went away (| head): nothing left to say
        _leave(distributed, 0)
    except Exception as exc:
        error = rank_failure(distributed.rank, exc)
        if args.debug:
            traceback.print_exc()
        _leave(distributed, error.exit_code, f"netstudio: error: {error}", failed=True)
    _leave(distributed, code)


def _leave(distributed, code: int, line: str | None = None, failed: bool = False) -> NoReturn:
    """End a process of a torchrun job now, without the interpreter's shutdown.

    gloo's worker threads may still be releasing the last collective's work while the interpreter
    shuts down; that release needs the GIL, and the process aborts (SIGABRT, "terminate called
    without an active exception"), which makes torchrun report a finished job as failed: seen in
    about 1 of 15 successful two-process runs with torch 2.13 (upstream: pytorch/pytorch#179291).
    Nothing is lost by skipping the shutdown: every rank has passed the final barrier, after rank 0
    wrote the run folder, or this rank has failed and the job is over.
    """
    try:
        if line:
            print(line, file=sys.stderr)
        distributed.close(failed=failed)
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _train(args, distributed=None) -> int:
    from netstudio.core.runs.folder import claim_run_dir

    main = distributed is None or distributed.is_main
    quiet = args.quiet or not main
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    from netstudio.core.errors import ConfigError
    from netstudio.core.training.resume import read_resume

    resume = None
    if getattr(args, "resume", None):
        if distributed is not None:
            raise ConfigError("--resume trains in one process: run it without torchrun")
        resume = read_resume(args.resume)
    project = load_project(args.project)
    # The run folder is taken before the data loads and training starts: a taken or non-empty
    # --out is refused now, not after the last epoch (and two trainings cannot share one).
    claims = [claim_run_dir(args.out)] if main and args.out is not None else []
    try:
        return _train_claimed(args, project, claims, distributed, main, say, quiet, resume)
    finally:
        for claim in claims:
            claim.release()  # nothing when the run was saved into it


def _train_claimed(args, project, claims: list, distributed, main: bool, say, quiet: bool, resume=None) -> int:
    from netstudio.core.export.exporter import write_run_models
    from netstudio.core.runs.folder import claim_run_dir, default_run_dir, save_run
    from netstudio.core.training.distributed import DistributedError
    from netstudio.core.training.session import prepare_session

    session = prepare_session(project, data_path=args.data, epochs=args.epochs, device=args.device, seed=args.seed,
                              distributed=distributed)
    if main and not claims:
        claims.append(claim_run_dir(default_run_dir(session.project, session.started)))
    data = session.dataset
    where = f"{session.trainer.device}" + (f" × {distributed.describe()}" if distributed else "")
    test = f", {data.n_test:,} test" if data.n_test else ""
    say(f"Training {project.name!r} on {where}: {data.n_train:,} training{test} and {data.n_val:,} "
        f"validation samples, {data.task}" + (f" ({len(data.classes)} classes)" if data.classes else "")
        + f", {session.validation.total_parameters:,} parameters")
    notes = list(getattr(data.summary, "notes", [])) + (distributed.notes if distributed else [])
    for line in notes + [f"warning: {w}" for w in getattr(data.summary, "warnings", [])]:
        say(f"  {line}")
    if resume is not None:
        say(f"  resuming {args.resume} after epoch {resume.epochs_done}, for {session.config.epochs} more")
    callbacks = [] if quiet else [ConsolePrinter(session.config.epochs)]
    interrupted = _stop_on_ctrl_c(session, announce=main, together=distributed is not None)
    try:
        summary = session.fit(callbacks, resume=resume)
    finally:
        signal.signal(signal.SIGINT, interrupted)
    writer = functools.partial(write_run_models, onnx=args.onnx)
    folder = save_run(session, summary, write_models=writer, claim=claims[0]) if main else None
    if distributed is not None:
        # Every rank leaves together: one that exited first with a failure status would make torchrun
        # stop rank 0 while it still writes the run folder.
        distributed.barrier()
    if not main:
        return {"completed": 0, "early_stopped": 0, "stopped": 130}.get(summary.status, 1)
    if summary.best_epoch is not None and summary.best():
        best = summary.best()
        extra = "  ".join(f"{k} {_fmt(v)}" for k, v in best.values.items())
        say(f"best epoch {summary.best_epoch}: val_loss {_fmt(best.val_loss)}  {extra}".rstrip())
    if summary.test:
        say(f"test ({data.n_test:,} samples, scored once): "
            + "  ".join(f"{k} {_fmt(v)}" for k, v in summary.test.items()))
    if summary.status in ("stopped", "early_stopped"):
        say(summary.message)
    say(f"run saved to {folder}")
    if not summary.ok:
        # Under torchrun every rank agreed on this outcome: rank 0 reports it once, as the job's.
        error = TrainingError if distributed is None else DistributedError
        raise error(f"{summary.message} (run saved to {folder})")
    return 130 if summary.status == "stopped" else 0


def _stop_on_ctrl_c(session, announce: bool = True, together: bool = False):
    """First Ctrl+C: stop after this batch and save; the second one interrupts for real.

    Under torchrun (*together*) every process gets it and they stop at their next common check;
    only rank 0 (*announce*) says so.
    """
    previous = signal.getsignal(signal.SIGINT)
    when = "at the next check, on every process" if together else "after this batch"

    def handler(signum, frame):
        if announce:
            print(f"\nstopping {when} (Ctrl+C again to abort)...", file=sys.stderr, flush=True)
        session.trainer.request_stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, handler)
    return previous
