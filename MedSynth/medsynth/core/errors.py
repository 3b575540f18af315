"""Exceptions that carry a message meant for the user.

Everything a user can cause (a bad file, a wrong option, a model that does not fit the input) raises a
:class:`MedSynthError` subclass whose message names the thing, the problem and what is expected. The CLI
prints these without a traceback; anything else is a bug and keeps its traceback.
"""


class MedSynthError(Exception):
    """Base class of user-facing errors."""


class InputError(MedSynthError):
    """An input volume is missing, unreadable or unsuitable."""


class OutputError(MedSynthError):
    """An output cannot be written where it was asked for."""


class ModelError(MedSynthError):
    """A model file, card, architecture name or catalog entry is invalid."""


class ConfigError(MedSynthError):
    """An option or setting has an invalid value."""


class Cancelled(Exception):  # noqa: N818 - it is an outcome, not an error
    """Long work stopped because its cancellation token was set; nothing was written."""
