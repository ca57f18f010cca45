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


class DataError(NetStudioError):
    """A dataset cannot be read or does not suit the task."""


class ConfigError(NetStudioError):
    """A setting (training, device, export option) is impossible."""


class TrainingError(NetStudioError):
    """A training run failed: it diverged, ran out of memory, or the device failed."""

    exit_code = 1


class ExportError(NetStudioError):
    """A model could not be exported, loaded or used for prediction."""
