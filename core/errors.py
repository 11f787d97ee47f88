"""Errors the user sees: each carries a one-line message that says what is wrong and what to do."""


class IsoldeError(Exception):
    """Base class of every error Isolde reports to a user (CLI: one line on stderr, exit 2)."""


class AudioError(IsoldeError):
    """The audio cannot be read, written or used (missing, not audio, empty, silent, NaN...)."""


class ModelError(IsoldeError):
    """A model file is missing, corrupt, or not an Isolde model."""


class CorrectionsError(IsoldeError):
    """A corrections file is malformed or does not fit the song."""


class ProjectError(IsoldeError):
    """A project file is malformed or refers to audio that cannot be found."""


class RecoveryError(ProjectError):
    """A crash-recovery copy cannot be read; it was moved aside, not deleted."""


class Cancelled(IsoldeError):
    """A long job was cancelled by the user; nothing was written."""
