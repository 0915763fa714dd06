"""Shortage stops: production time lost waiting for parts, by part, supplier and station."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from linespeed.kpi import PartShortage, SupplierShortage, kpi_report
from tests.conftest import ingest

T0 = datetime(2025, 6, 30, 2, 0, tzinfo=UTC)


def state(station: str, name: str, minutes: float, reason: str | None = None) -> dict[str, Any]:
    """A `station.state` at T0 + `minutes`."""
    body: dict[str, Any] = {
        "id": f"{station}-{name}-{minutes}",
        "ts": (T0 + timedelta(minutes=minutes)).isoformat(),
        "kind": "station.state",
        "station": station,
        "state": name,
    }
    return body if reason is None else {**body, "reason": reason}


STOPS = [
    state("ga-140", "starved", 0, "shortage:BAT-1001"),
    state("ga-130", "starved", 10, "shortage:BAT-1001"),
    state("ga-140", "running", 30),
    state("ga-130", "running", 40),
    state("ga-090", "starved", -30, "shortage:BRK-2201"),  # began before the window
    state("ga-090", "running", 15),
    state("ga-020", "starved", 20, "shortage:NOT-0000"),  # a part in no BOM
    state("ga-020", "running", 25),
    state("ga-010", "starved", 0, "no body from paint"),  # starved for cars, not parts
    state("ga-010", "running", 50),
    state("ga-190", "starved", 100, "shortage:LMP-8201"),  # still starved at the window's end
]


def test_kpi_reports_time_lost_to_shortages_by_part_and_supplier(memory_engine: Engine) -> None:
    assert {o.status for o in ingest(memory_engine, STOPS)} == {"accepted"}

    report = kpi_report(memory_engine, since=T0, until=T0 + timedelta(minutes=120))

    assert report.shortage_by_part == [
        PartShortage("BAT-1001", "sup-bat", 2400.0, 2, ["ga-130", "ga-140"]),
        PartShortage("LMP-8201", "sup-lmp", 1200.0, 1, ["ga-190"]),
        PartShortage("BRK-2201", "sup-brk", 900.0, 1, ["ga-090"]),
        PartShortage("NOT-0000", None, 300.0, 1, ["ga-020"]),
    ]
    assert report.shortage_by_supplier == [
        SupplierShortage("sup-bat", 2400.0, 2, ["BAT-1001"]),
        SupplierShortage("sup-lmp", 1200.0, 1, ["LMP-8201"]),
        SupplierShortage("sup-brk", 900.0, 1, ["BRK-2201"]),
        SupplierShortage(None, 300.0, 1, ["NOT-0000"]),
    ]
    parts_starved = {row.station: row.starved_for_parts_s for row in report.stations}
    assert parts_starved["ga-140"] == 1800.0
    assert parts_starved["ga-130"] == 1800.0
    assert parts_starved["ga-010"] == 0.0  # waited for cars
    assert sum(parts_starved.values()) == 1800 * 2 + 900 + 300 + 1200


def test_a_window_without_shortages_reports_none(memory_engine: Engine) -> None:
    ingest(memory_engine, STOPS)

    report = kpi_report(
        memory_engine, since=T0 + timedelta(minutes=60), until=T0 + timedelta(minutes=90)
    )

    assert (report.shortage_by_part, report.shortage_by_supplier) == ([], [])
    assert {row.starved_for_parts_s for row in report.stations} == {0.0}
