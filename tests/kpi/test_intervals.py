"""Coverage: the interval arithmetic behind planned busy time and the bottleneck analysis."""

from __future__ import annotations

import numpy as np

from linespeed.kpi.intervals import Coverage


def test_spans_are_merged_and_sorted() -> None:
    cover = Coverage([(10, 20), (0, 5), (5, 8), (15, 30), (40, 40)])
    assert cover.spans == [(0.0, 8.0), (10.0, 30.0)]
    assert cover.total_s == 28.0


def test_how_much_of_a_span_is_covered() -> None:
    cover = Coverage([(0, 8), (10, 30)])
    assert cover.between(-5, 100) == 28.0
    assert cover.between(5, 12) == 3.0 + 2.0
    assert cover.between(8, 10) == 0.0
    assert cover.between(20, 10) == 0.0  # an empty span
    assert cover.within(np.array([0.0, 25.0]), np.array([4.0, 35.0])).tolist() == [4.0, 5.0]


def test_clip_complement_union() -> None:
    cover = Coverage([(0, 8), (10, 30)])
    assert cover.clipped(5, 12).spans == [(5.0, 8.0), (10.0, 12.0)]
    assert cover.complement(-2, 40).spans == [(-2.0, 0.0), (8.0, 10.0), (30.0, 40.0)]
    assert cover.union(Coverage([(7, 11)])).spans == [(0.0, 30.0)]
    empty = Coverage([])
    assert (empty.total_s, empty.between(0, 10), empty.complement(0, 10).spans) == (
        0.0,
        0.0,
        [(0.0, 10.0)],
    )
