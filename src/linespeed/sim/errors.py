"""Errors of the sim package: a simulation or publication asked with bad arguments."""

from __future__ import annotations

from linespeed.errors import InputError


class SimInputError(InputError):
    """An argument of the simulator is refused: `parameter` (`until_units`, `days`, `speed`,
    `process_s`, ...) and its `value` (or a short summary of an array)."""

    code = "sim.input"
