"""The after-sales plan worked by hand: fleet, retention, bays, chargers, carry-forward, gaps."""

from __future__ import annotations

from dataclasses import replace

import pytest

from linespeed.aftersales.errors import AftersalesInputError
from linespeed.aftersales.files import Delivery, Month, NetworkRow, Region
from linespeed.aftersales.params import Parameters, default_parameters, parse_parameters
from linespeed.aftersales.plan import plan_aftersales, plan_json

# 1 shift x 8 h x 20 days x 0.75 = 120 bay-hours per bay-month
HAND = Parameters(
    retention=1.0,
    visits_per_vehicle_year=0.6,
    bay_hours_per_visit=2.0,
    shifts_per_day=1,
    hours_per_shift=8,
    days_per_month=20,
    utilisation=0.75,
    chargers_per_1000=10,
)
REGIONS = [Region("eu", 0.75), Region("us", 0.25)]


def month(text: str) -> Month:
    found = Month.parse(text)
    assert found is not None
    return found


def test_worked_by_hand() -> None:
    deliveries = [Delivery(month("2025-01"), 12_000), Delivery(month("2025-03"), 4_000)]
    plan = plan_aftersales(deliveries, regions=REGIONS, parameters=HAND)
    assert HAND.bay_hours_per_bay_month == 120
    got = [
        (str(r.month), r.region, r.vehicles, r.bays_needed, r.chargers_needed) for r in plan.rows
    ]
    assert got == [
        # eu 9,000 cars: 9,000 x 0.6 / 12 = 450 visits x 2 h = 900 h / 120 = 7.5 -> 8 bays;
        # 9,000 / 1,000 x 10 = 90 chargers
        ("2025-01", "eu", 9_000, 8, 90),
        # us 3,000 cars: 150 visits, 300 h, 2.5 -> 3 bays; 30 chargers
        ("2025-01", "us", 3_000, 3, 30),
        ("2025-02", "eu", 9_000, 8, 90),  # a month missing from the file delivers 0
        ("2025-02", "us", 3_000, 3, 30),
        # eu 12,000 cars: 600 visits, 1,200 h, exactly 10 bays (no rounding up of noise)
        ("2025-03", "eu", 12_000, 10, 120),
        ("2025-03", "us", 4_000, 4, 40),  # 200 visits, 400 h, 3.33 -> 4 bays
    ]
    assert all(r.bays_planned is None and r.chargers_planned is None for r in plan.rows)
    assert plan.gaps == []


def test_retention_loses_cars_month_by_month() -> None:
    deliveries = [Delivery(month("2025-01"), 1_000)]
    plan = plan_aftersales(
        deliveries, parameters=replace(HAND, retention=0.9), until=month("2026-01")
    )
    vehicles = {str(row.month): row.vehicles for row in plan.rows}
    assert len(vehicles) == 13
    assert vehicles["2025-01"] == 1_000
    assert vehicles["2025-07"] == 949  # 1,000 x 0.9^(6/12) = 948.7
    assert vehicles["2026-01"] == 900  # a year on: 1,000 x 0.9


def test_network_carries_forward_and_gaps() -> None:
    deliveries = [
        Delivery(month("2025-01"), 12_000),
        Delivery(month("2025-02"), 0),
        Delivery(month("2025-03"), 4_000),
    ]
    network = [
        NetworkRow("eu", month("2025-03"), 12, 100),  # out of month order: fine
        NetworkRow("eu", month("2025-01"), 8, 80),
        NetworkRow("us", month("2025-02"), 5, 50),
    ]
    plan = plan_aftersales(deliveries, regions=REGIONS, network=network, parameters=HAND)
    planned = [(str(r.month), r.region, r.bays_planned, r.chargers_planned) for r in plan.rows]
    assert planned == [
        ("2025-01", "eu", 8, 80),
        ("2025-01", "us", 0, 0),  # before the region's first row: nothing planned
        ("2025-02", "eu", 8, 80),  # carried forward
        ("2025-02", "us", 5, 50),
        ("2025-03", "eu", 12, 100),
        ("2025-03", "us", 5, 50),
    ]
    gaps = [(str(r.month), r.region, r.bays_gap, r.chargers_gap) for r in plan.gaps]
    assert gaps == [
        ("2025-01", "eu", 0, 10),  # 90 chargers needed, 80 planned
        ("2025-01", "us", 3, 30),
        ("2025-02", "eu", 0, 10),
        ("2025-03", "eu", 0, 20),  # 120 needed, 100 planned; 10 bays needed, 12 planned
    ]


def test_json_shape() -> None:
    plan = plan_aftersales([Delivery(month("2025-01"), 12_000)], parameters=HAND)
    assert plan_json(plan) == {
        "rows": [
            {
                "month": "2025-01",
                "region": "all",
                "vehicles": 12_000,
                "bays_needed": 10,
                "chargers_needed": 120,
                "bays_planned": None,
                "chargers_planned": None,
            }
        ]
    }


def test_until_cuts_and_refuses_before_the_first_month() -> None:
    deliveries = [Delivery(month("2025-01"), 10), Delivery(month("2025-02"), 10)]
    plan = plan_aftersales(deliveries, parameters=HAND, until=month("2025-01"))
    assert [str(row.month) for row in plan.rows] == ["2025-01"]
    with pytest.raises(AftersalesInputError, match="before the first month"):
        plan_aftersales(deliveries, parameters=HAND, until=month("2024-12"))
    with pytest.raises(AftersalesInputError, match="no deliveries"):
        plan_aftersales([], parameters=HAND)


def test_defaults_and_a_parameters_file() -> None:
    defaults = default_parameters()
    assert defaults.retention == 0.98
    assert defaults.bay_hours_per_bay_month == 300  # 2 x 8 x 25 x 0.75
    assert defaults.chargers_per_1000 == 10
    changed = parse_parameters(b"visits_per_vehicle_year: 0.8\nutilisation: 0.5\n", "p.yaml")
    assert changed == replace(defaults, visits_per_vehicle_year=0.8, utilisation=0.5)
    assert parse_parameters(b"", "p.yaml") == defaults
