"""Errors of the ramp package: bad series input, unknown references, milestone numbers out
of range and forecasts that cannot be made."""

from __future__ import annotations

from datetime import date

from linespeed.errors import InputError, InputFileError, LinespeedError


class RampInputError(InputFileError):
    """A series (a CSV file or points given in code) is unreadable or not a cumulative curve.

    `file` names the source, `line` the 1-based line (or point number) and `value` the
    offending text, when there is one.
    """

    code = "ramp.input"

    def __init__(
        self, file: str, message: str, *, line: int | None = None, value: str | None = None
    ) -> None:
        self.value = value
        super().__init__(file, message, line=line)


class RampReferenceError(InputError):
    """Reference ramps asked for by names that are not shipped: `parameter` is `references`,
    `value` the unknown names."""

    code = "ramp.input"


class MilestoneInputError(InputError):
    """A milestone number out of range: `parameter` is `number`, `value` the number."""

    code = "milestone.input"


class RampForecastError(LinespeedError):
    """A forecast cannot be made: too few points, target already reached, or never reached.

    `code` says which: `ramp.too_few_points`, `ramp.target_reached` (with `reached_on`),
    `ramp.unreachable`.
    """

    code = "ramp.forecast"

    def __init__(
        self, message: str, *, code: str, target: float, reached_on: date | None = None
    ) -> None:
        self.target = target
        self.reached_on = reached_on
        super().__init__(message, code=code)
