"""The one base class of Symbiose's own errors.

A :class:`SymbioseError` says what the user can change: bad input (which table, column, rows and
what was expected), a wrong option, a missing model, a refused request. The command line prints its
message (``serving.cli.common``) and the HTTP API answers it with a 4xx status
(``serving.api.errors``); every other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class SymbioseError(Exception):
    """A failure with a message for the user (not a bug)."""


class InputError(SymbioseError, ValueError):
    """A value the user gave (an option, a setting, a request field) is not what is expected."""
