"""Ramp comparison: days from start of production to each milestone, metric marked."""

from __future__ import annotations

from datetime import date

import pytest

from linespeed.ramp.compare import compare_ramps
from linespeed.ramp.series import series_from_pairs

SOP = date(2024, 1, 1)
PLANT = series_from_pairs(
    [(date(2024, 1, 1), 0), (date(2024, 2, 1), 10_000), (date(2024, 3, 2), 40_000),
     (date(2024, 4, 1), 100_000), (date(2024, 5, 1), 160_000)],
    name="plant", label="Plant yz1", metric="produced", sop=SOP,
)  # fmt: skip
SHIPPED = series_from_pairs(
    [(date(2024, 2, 1), 0), (date(2024, 3, 2), 5_000), (date(2024, 5, 31), 95_000)],
    name="shipped", label="Rival", metric="delivered", sop=date(2024, 1, 15),
)  # fmt: skip


def test_days_from_start_to_each_milestone() -> None:
    table = compare_ramps({"plant": PLANT}, milestones=(10_000, 50_000, 100_000, 200_000))
    row = table.rows[0]
    assert row.days() == {10_000: 31, 50_000: 66, 100_000: 91, 200_000: None}
    # 50,000 lies between 40,000 on day 61 and 100,000 on day 91: 61 + 10/60 x 30 = day 66.
    assert [reach.how for reach in row.reaches] == [
        "data point", "interpolated", "data point", "not reached",
    ]  # fmt: skip
    assert row.reaches[1].day == date(2024, 3, 7)
    assert not table.mixed_metrics and table.notes == []


def test_production_and_deliveries_are_never_mixed_silently() -> None:
    table = compare_ramps({"plant": PLANT, "rival": SHIPPED}, milestones=(10_000,))
    assert [row.legend for row in table.rows] == ["Plant yz1 (production)", "Rival (deliveries)"]
    assert table.mixed_metrics
    assert table.notes[0].startswith("production and deliveries are different series")
    text = table.to_text()
    assert "production" in text and "deliveries" in text
    assert "note: production and deliveries are different series" in text
    # 10,000 deliveries: 47 + 5/90 x 90 = day 52 after 2024-02-01 → 2024-03-07, 52 days from SOP
    assert table.rows[1].days() == {10_000: 52}
    data = table.to_json()
    assert [row["metric"] for row in data["rows"]] == ["produced", "delivered"]
    assert data["notes"] == table.notes


def test_the_text_table() -> None:
    table = compare_ramps({"plant": PLANT}, milestones=(10_000, 50_000, 200_000))
    assert table.to_text().splitlines() == [
        "days from start of production to each milestone (~ interpolated)",
        "series     metric       start          10,000     50,000    200,000",
        "Plant yz1  production   2024-01-01        31         66~         -",
    ]


def test_points_too_far_apart_are_not_interpolated() -> None:
    sparse = series_from_pairs(
        [(SOP, 0), (date(2024, 11, 1), 100_000)], name="x", metric="produced", sop=SOP
    )
    reach = compare_ramps({"x": sparse}, milestones=(10_000,)).rows[0].reaches[0]
    assert (reach.day, reach.days, reach.how) == (None, None, "between 2024-01-01 and 2024-11-01")


def test_a_series_without_start_is_aligned_on_its_first_point() -> None:
    loose = series_from_pairs([(date(2024, 2, 1), 0), (date(2024, 3, 1), 20_000)], name="loose")
    table = compare_ramps({"loose": loose}, milestones=(10_000,))
    assert table.rows[0].aligned_on == "first point"
    assert table.rows[0].days() == {10_000: 15}
    assert "aligned on its first point" in table.notes[-1]


def test_bad_milestones_are_refused() -> None:
    with pytest.raises(ValueError, match=r"milestone\(=0\) must be > 0"):
        compare_ramps({"plant": PLANT}, milestones=(0,))
