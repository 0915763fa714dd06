"""Errors of the trace package: a trace question that cannot be asked as given."""

from __future__ import annotations

from linespeed.errors import InputError


class TraceInputError(InputError):
    """A trace question that cannot be asked: an unknown part, lot, serial or supplier, a bad
    time window or status; `parameter` (`lot`, `from`, `to`, `status`, ...) and its `value`."""

    code = "trace.input"
