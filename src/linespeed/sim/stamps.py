"""ISO-8601 UTC timestamps with milliseconds, made for many moments at once.

`Stamps(origin).of(seconds)` gives `b"2024-02-29T16:00:00.000Z"` for every moment, as
`numpy.datetime_as_string(origin + round(seconds * 1000) ms, unit="ms") + "Z"` would, with
the digits written by array arithmetic instead of one string per moment.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

_DAY_MS: Final = 86_400_000
WIDTH: Final = 24  # YYYY-MM-DDTHH:MM:SS.mmmZ


class Stamps:
    """Timestamps of moments given in seconds from `origin` (UTC, numpy datetime64)."""

    def __init__(self, origin: np.datetime64) -> None:
        self.origin_ms = int(origin.astype("datetime64[ms]").astype(np.int64))
        self._first_day = 0
        self._dates = np.zeros((0, 10), dtype=np.uint8)

    def of(self, seconds: NDArray[np.float64]) -> list[bytes]:
        """The timestamp of each moment, `seconds` from the origin, to the millisecond."""
        if not len(seconds):
            return []
        return self.text(seconds).view(f"S{WIDTH}").ravel().tolist()  # type: ignore[no-any-return]

    def text(self, seconds: NDArray[np.float64]) -> NDArray[np.uint8]:
        """`of` as a (moments x 24) byte matrix, one timestamp per row."""
        moments_ms = self.origin_ms + np.round(seconds * 1000.0).astype(np.int64)
        if not len(moments_ms):
            return np.zeros((0, WIDTH), dtype=np.uint8)
        days = moments_ms // _DAY_MS
        of_day = moments_ms - days * _DAY_MS
        text = np.empty((len(moments_ms), WIDTH), dtype=np.uint8)
        text[:, :10] = self._date_digits(days)
        text[:, 10] = ord("T")
        text[:, 13] = text[:, 16] = ord(":")
        text[:, 19] = ord(".")
        text[:, 23] = ord("Z")
        for column, unit_ms, digits in (
            (11, 3_600_000, 2),
            (14, 60_000, 2),
            (17, 1_000, 2),
            (20, 1, 3),
        ):
            value = of_day // unit_ms
            of_day = of_day - value * unit_ms
            for place in range(digits - 1, -1, -1):
                value, digit = np.divmod(value, 10)
                text[:, column + place] = digit
                text[:, column + place] += 48
        return text

    def _date_digits(self, days: NDArray[np.int64]) -> NDArray[np.uint8]:
        """`YYYY-MM-DD` of each day number (days since 1970-01-01), from a table of dates."""
        low, high = int(days.min()), int(days.max())
        last_day = self._first_day + len(self._dates) - 1
        if not len(self._dates) or low < self._first_day or high > last_day:
            first = min(low, self._first_day) if len(self._dates) else low
            last = max(high, last_day) if len(self._dates) else high
            span = np.arange(first, last + 1).astype("datetime64[D]")
            text = np.datetime_as_string(span, unit="D").astype("S10")
            self._first_day = first
            self._dates = text.view(np.uint8).reshape(len(span), 10)
        return self._dates[days - self._first_day]
