"""Errors of the kpi package: a KPI question that cannot be asked as given."""

from __future__ import annotations

from linespeed.errors import InputError


class KpiInputError(InputError):
    """A KPI window or grouping is refused: `parameter` (`since`, `until`, `by`) and its `value`.

    Raised for a time without a UTC offset or outside the storable range, `since` after
    `until`, an unknown grouping, or a day or shift table over too long a window.
    """

    code = "kpi.input"
