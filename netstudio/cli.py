"""The ``netstudio`` command line (also ``python -m netstudio``).

Each sub-command lives in :mod:`netstudio.commands`. Errors are one line on stderr,
``netstudio: error: ...``, with exit status 2 for bad input and 1 for a failed run; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
import traceback

from netstudio import __version__
from netstudio.core.errors import NetStudioError, describe

#: Sub-command name -> module in netstudio.commands.
COMMANDS = {"gui": "gui", "summary": "summary", "train": "train", "predict": "predict", "export": "export",
            "lr-find": "lr_find",
            "sweep": "sweep", "diagram": "diagram"}
DEFAULT_COMMAND: str | None = "gui"


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and exit 2, as every other error."""

    def error(self, message: str):  # noqa: D401 - argparse's name
        self.exit(2, f"netstudio: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="netstudio", description="Build, train and export PyTorch neural networks.")
    parser.add_argument("--version", action="version", version=f"netstudio {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for module in COMMANDS.values():
        importlib.import_module(f"netstudio.commands.{module}").add_parser(sub)
    return parser


def _with_default_command(argv: list[str]) -> list[str]:
    """``netstudio [PROJECT]`` means ``netstudio gui [PROJECT]`` when the gui command exists."""
    if DEFAULT_COMMAND is None:
        return argv
    positional = [a for a in argv if not a.startswith("-")]
    if "--version" in argv or (("-h" in argv or "--help" in argv) and not positional):
        return argv
    if not positional or positional[0] not in COMMANDS:
        flags = [a for a in argv if a == "--debug"]
        rest = [a for a in argv if a != "--debug"]
        return flags + [DEFAULT_COMMAND] + rest
    return argv


#: errno values of a write that found no room: a full disk or quota, a too-large file, a failing device.
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(_with_default_command(argv))
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(f"netstudio.commands.{COMMANDS[args.command]}")
    try:
        code = int(module.run(args) or 0)
        sys.stdout.flush()  # here, so a full disk under stdout is reported below, not at exit
        return code
    except NetStudioError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"netstudio: error: {describe(exc)}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # the reader went away (| head): nothing left to say
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        if args.debug:
            traceback.print_exc()
        if exc.errno not in _FULL:
            print(f"netstudio: error: {describe(exc)} (run with --debug for details)", file=sys.stderr)
            return 1
        # stdout on a full disk (the files NetStudio writes are atomic and report their own errors)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush fails no more
        print(f"netstudio: error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("netstudio: interrupted", file=sys.stderr)
        return 130
    except MemoryError:  # this machine cannot hold what was asked for: a failed run, not a bug
        if args.debug:
            traceback.print_exc()
        print("netstudio: error: out of memory: the data or the model does not fit in this machine's memory",
              file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: still one line, the traceback on request
        if args.debug:
            traceback.print_exc()
        print(f"netstudio: error: {describe(exc)} (run with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
