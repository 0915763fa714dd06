"""The reference ramps shipped as package data: programs, metrics, points, sources."""

from __future__ import annotations

from datetime import date

import pytest

from linespeed.errors import NotFoundError
from linespeed.ramp.references import (
    reference_metrics,
    reference_names,
    reference_rows,
    reference_series,
)


def test_the_programs() -> None:
    assert reference_names() == [
        "tesla-model-3", "xiaomi-su7", "nio", "li-one", "pace-300k-15m",
    ]  # fmt: skip


def test_tesla_model_3_is_quarterly_production_from_july_2017() -> None:
    tesla = reference_series("tesla-model-3")
    assert tesla.program == "tesla-model-3"
    assert (tesla.metric, tesla.sop, tesla.legend) == (
        "produced",
        date(2017, 7, 7),
        "Tesla Model 3 (production)",
    )
    assert len(tesla.points) == 11  # the zero point at SOP and Q3 2017 - Q4 2019
    assert [point.kind for point in tesla.points].count("quarter") == 10
    assert tesla.points[0].cumulative == 0 and tesla.points[0].day == date(2017, 7, 7)
    assert tesla.points[-1].day == date(2019, 12, 31)
    assert tesla.points[-1].cumulative == 457_938


def test_xiaomi_su7_is_deliveries_with_milestones_and_one_production_milestone() -> None:
    assert reference_metrics("xiaomi-su7") == ["delivered", "produced"]
    deliveries = reference_series("xiaomi-su7")
    assert deliveries.metric == "delivered" and deliveries.sop == date(2024, 2, 26)
    kinds = [point.kind for point in deliveries.points]
    assert kinds.count("quarter") == 6 and kinds.count("milestone") == 2
    assert deliveries.points[0].day == date(2024, 3, 28) and deliveries.points[0].kind == "launch"
    assert (date(2025, 7, 10), 300_000.0) in deliveries.pairs()
    production = reference_series("xiaomi-su7", "produced")
    assert production.pairs() == [(date(2024, 2, 26), 0.0), (date(2024, 11, 13), 100_000.0)]
    assert production.legend == "Xiaomi SU7 (production)"


def test_every_row_has_its_source_and_confidence() -> None:
    for row in reference_rows():
        assert row["source"] and row["confidence"], row
        assert row["metric"] in ("produced", "delivered"), row


def test_quarter_quantities_add_up_to_the_cumulative() -> None:
    for name in ("tesla-model-3", "xiaomi-su7"):
        rows = [row for row in reference_rows() if row["program"] == name and row["quantity"]]
        total = 0
        for row in rows:
            total += int(row["quantity"])
            assert int(row["cumulative"]) == total, row


def test_the_pace_reaches_300000_fifteen_months_after_sop_on_its_stated_formula() -> None:
    pace = reference_series("pace-300k-15m")
    assert pace.metric == "delivered" and pace.sop == date(2024, 3, 28)
    assert pace.points[-1].day == date(2025, 6, 28) and pace.points[-1].cumulative == 300_000
    ramp_days, full_days = 184, 457  # SOP + 6 months, SOP + 15 months
    rate = 300_000 / (full_days - ramp_days / 2)
    for point in pace.points:
        t = (point.day - pace.start).days
        expected = rate * t * t / (2 * ramp_days) if t <= ramp_days else rate * (t - ramp_days / 2)
        assert point.cumulative == round(expected)


def test_unknown_names_and_metrics_are_refused() -> None:
    with pytest.raises(NotFoundError, match="unknown reference ramp 'model-y': known are tesla"):
        reference_series("model-y")
    with pytest.raises(NotFoundError, match="'tesla-model-3' has no 'delivered' series"):
        reference_series("tesla-model-3", "delivered")
