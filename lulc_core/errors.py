"""Errors that reach users.

Every error subclasses :class:`LulcError` plus the built-in it refines, and its message is one
line that says what went wrong *and how to fix it*. The CLI turns any ``LulcError`` into that
line on stderr and exit code 2; the dashboard shows it as a friendly message.
"""

from __future__ import annotations


class LulcError(Exception):
    """Base class of every error a user can cause and fix."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else self.__class__.__name__


class DataNotFoundError(LulcError, FileNotFoundError):
    """A file or folder the command needs does not exist."""


class InvalidDataError(LulcError, ValueError):
    """Input exists but cannot be used (corrupted, wrong format, wrong content)."""


class UnknownNameError(LulcError, KeyError):
    """A name (model, city, class, encoder) is not one we know; the message lists valid ones."""


class ModelMismatchError(LulcError, ValueError):
    """A model and its card, or a model and its input data, do not fit together."""


class AOIError(LulcError, ValueError):
    """An area of interest is outside the scene, empty or too large."""


class JobRunningError(LulcError, RuntimeError):
    """A background job is already running; only one at a time."""


class DownloadError(LulcError, ConnectionError):
    """A download failed or its checksum did not match."""


class PermissionDeniedError(LulcError, PermissionError):
    """The action needs a credential (admin token) that was not given or was wrong."""


class ClusterError(LulcError, ConnectionError):
    """A Dask scheduler could not be reached (or is not a Dask scheduler)."""
