"""``netstudio [gui] [PROJECT]``: open the designer window, optionally with a project.

The project is read before any window appears, so that a missing or malformed file is the usual
one-line ``netstudio: error: ...`` with exit status 2, as for every other command.
"""

from __future__ import annotations

import os
import sys

from netstudio.core.errors import NetStudioError


def add_parser(sub) -> None:
    parser = sub.add_parser("gui", help="open the designer window (the default command)",
                            description="Open NetStudio's designer window, optionally with a project.")
    parser.add_argument("project", nargs="?", help="a .nsproj file to open")


def _check_display() -> None:
    """Refuse early, with a clear message, where Qt could only abort: no display to draw on."""
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform in ("win32", "darwin"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise NetStudioError("no display to open the window on (DISPLAY is not set); on a server use the "
                             "command line ('netstudio summary', 'netstudio train'), or run under xvfb-run")


def run(args) -> int:
    project = None
    if args.project:
        from netstudio.core.project import load_project

        project = load_project(args.project)
    _check_display()
    from netstudio.ui.app import run as run_app

    return run_app(project=project)
