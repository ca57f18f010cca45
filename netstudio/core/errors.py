"""The project's own exception types.

Every error a user can cause (a bad file, an impossible setting) is raised as a subclass of
:class:`NetStudioError` with a one-line message that says what is wrong and where. The command
line turns them into ``netstudio: error: <message>`` with the exit status in ``exit_code``.
"""

from __future__ import annotations


class NetStudioError(Exception):
    """Base class of every error NetStudio reports to its user.

    Attributes
    ----------
    exit_code : int
        The command line's exit status for this error: 2 for bad input, 1 for a failed run.
    """

    exit_code = 2


class ProjectError(NetStudioError):
    """A project file is missing, unreadable, malformed or invalid."""


class NewerProjectError(ProjectError):
    """Saving would replace a project file written by a newer NetStudio (ask before overwriting)."""


class DataError(NetStudioError):
    """A dataset cannot be read or does not suit the task."""


class ConfigError(NetStudioError):
    """A setting (training, device, export option) is impossible."""


class TrainingError(NetStudioError):
    """A training run failed: it diverged, ran out of memory, or the device failed."""

    exit_code = 1


class ExportError(NetStudioError):
    """A model could not be exported, loaded or used for prediction."""


def one_line(text: object, limit: int = 2000) -> str:
    """*text* on one line: line breaks (a path or a library's message may hold some) become
    spaces, runs of blanks one space, and a very long text is cut at *limit* characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of *exc*'s message that is not blank, stripped (its type's name if there is
    none), cut at *limit* characters: what a library's multi-line message says first."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return text if limit is None else text[:limit]


def describe(exc: BaseException) -> str:
    """The one line a user sees for *exc*: NetStudio's own errors as they are, anything else as
    an internal error naming its type (the details are for ``--debug`` or the log)."""
    text = one_line(exc)
    if isinstance(exc, NetStudioError):
        return text or type(exc).__name__
    return f"internal error: {type(exc).__name__}" + (f": {text}" if text else "")
