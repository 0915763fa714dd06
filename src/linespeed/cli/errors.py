"""Errors of the command line itself: options given in a way no command accepts."""

from __future__ import annotations

from linespeed.errors import InputError


class CliUsageError(InputError):
    """A command line that cannot be run: `parameter` names the option, `value` its text."""

    code = "cli.usage"
