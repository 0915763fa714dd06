"""Sorted, disjoint time intervals in epoch seconds, and how much of a span they cover."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike, NDArray

Floats = NDArray[np.float64]


class Coverage:
    """A union of intervals [start, end) that answers "how much of [a, b) do you cover?"."""

    def __init__(self, spans: Iterable[tuple[float, float]]) -> None:
        """Merges overlapping or touching spans; empty spans are dropped."""
        merged: list[list[float]] = []
        for start, end in sorted((s, e) for s, e in spans if e > s):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        array = np.array(merged, dtype=np.float64).reshape(-1, 2)
        self.starts: Floats = array[:, 0]
        self.ends: Floats = array[:, 1]
        lengths = self.ends - self.starts
        self._before: Floats = np.concatenate(([0.0], np.cumsum(lengths)))

    @property
    def spans(self) -> list[tuple[float, float]]:
        """The merged intervals in time order."""
        return list(zip(self.starts.tolist(), self.ends.tolist(), strict=True))

    @property
    def total_s(self) -> float:
        """The covered seconds."""
        return float(self._before[-1])

    def upto(self, moments: ArrayLike) -> Floats:
        """Covered seconds before each moment."""
        at = np.asarray(moments, dtype=np.float64)
        if not len(self.starts):
            return np.zeros_like(at)
        index = np.searchsorted(self.starts, at, side="right") - 1
        safe = np.maximum(index, 0)
        inside = np.clip(at - self.starts[safe], 0.0, self.ends[safe] - self.starts[safe])
        return np.asarray(np.where(index < 0, 0.0, self._before[safe] + inside), dtype=np.float64)

    def within(self, begin: ArrayLike, end: ArrayLike) -> Floats:
        """Covered seconds of each span [begin, end) (0 where end <= begin)."""
        lo = np.asarray(begin, dtype=np.float64)
        hi = np.maximum(np.asarray(end, dtype=np.float64), lo)
        return self.upto(hi) - self.upto(lo)

    def between(self, begin: float, end: float) -> float:
        """Covered seconds of one span [begin, end)."""
        return float(self.within(np.array([begin]), np.array([end]))[0])

    def clipped(self, begin: float, end: float) -> Coverage:
        """These intervals cut to [begin, end)."""
        first = int(np.searchsorted(self.ends, begin, side="right"))
        last = int(np.searchsorted(self.starts, end, side="left"))
        starts = np.maximum(self.starts[first:last], begin).tolist()
        ends = np.minimum(self.ends[first:last], end).tolist()
        return Coverage(zip(starts, ends, strict=True))

    def complement(self, begin: float, end: float) -> Coverage:
        """What these intervals leave uncovered of [begin, end)."""
        gaps: list[tuple[float, float]] = []
        cursor = begin
        for start, stop in self.spans:
            if start > cursor:
                gaps.append((cursor, min(start, end)))
            cursor = max(cursor, stop)
        if end > cursor:
            gaps.append((cursor, end))
        return Coverage(gaps)

    def union(self, other: Coverage) -> Coverage:
        """Both sets of intervals together."""
        return Coverage([*self.spans, *other.spans])
