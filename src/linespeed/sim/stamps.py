"""ISO-8601 UTC timestamps with milliseconds, made for many moments at once.

`Stamps(origin).of(seconds)` gives `b"2024-02-29T16:00:00.000Z"` for every moment, as
`numpy.datetime_as_string(origin + round(seconds * 1000) ms, unit="ms") + "Z"` would: each
part (date, time of day, milliseconds) is looked up in a table of its texts.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

WIDTH: Final = 24
"""Bytes in a timestamp: YYYY-MM-DDTHH:MM:SS.mmmZ."""
_DAY_MS: Final = 86_400_000
_CLOCK: Final = (
    np.datetime_as_string(np.arange(86_400).astype("datetime64[s]"), unit="s")
    .astype("S19")
    .view(np.uint8)
    .reshape(86_400, 19)[:, 11:]
)
"""HH:MM:SS of every second of a day."""
_MILLIS: Final = (
    np.array([b"%03d" % n for n in range(1000)], dtype="S3").view(np.uint8).reshape(1000, 3)
)


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
        return self.text(seconds).view(f"S{WIDTH}").ravel().tolist()

    def text(self, seconds: NDArray[np.float64]) -> NDArray[np.uint8]:
        """`of` as a (moments x 24) byte matrix, one timestamp per row."""
        text = np.empty((len(seconds), WIDTH), dtype=np.uint8)
        if not len(seconds):
            return text
        moments_ms = self.origin_ms + np.round(seconds * 1000.0).astype(np.int64)
        days, of_day_ms = np.divmod(moments_ms, _DAY_MS)
        of_day_s, millis = np.divmod(of_day_ms, 1000)
        text[:, :10] = self._date_digits(days)
        text[:, 10] = ord("T")
        text[:, 11:19] = _CLOCK[of_day_s]
        text[:, 19] = ord(".")
        text[:, 20:23] = _MILLIS[millis]
        text[:, 23] = ord("Z")
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
