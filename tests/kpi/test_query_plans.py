"""Every query of a windowed KPI report reads index ranges, not whole tables (EXPLAIN)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from linespeed.kpi import kpi_report
from tests.conftest import ingest, make_store
from tests.kpi.example import at, example_events, example_plant
from tests.plans import full_scans, open_time_ranges


@pytest.mark.parametrize("by", [None, "day", "shift", "model", "station"])
def test_no_query_scans_a_whole_table(kpi_store: Engine, by: Any) -> None:
    # Two local days: `day` and `shift` join their time buckets (a VALUES table).
    def report() -> object:
        return kpi_report(kpi_store, since=at(-3600), until=at(25 * 3600), by=by)

    assert full_scans(kpi_store, report) == []


@pytest.mark.parametrize("by", [None, "station"])
def test_no_query_reads_the_history_before_the_window(by: Any) -> None:
    # A report of an hour must cost the same in the first week and after fifteen months: no
    # index range open to the start of the store (station states, visits, checks, defects).
    # SQLite's plans name each search's bounds; PostgreSQL's are checked by the test above.
    plant = example_plant()
    store = make_store("sqlite://", plant)
    ingest(store, example_events(plant))

    def report() -> object:
        return kpi_report(store, since=at(3600), until=at(7200), by=by)

    try:
        found = open_time_ranges(store, report)
        # Except work in progress: counted from the nearer end of the history (`wip_at`),
        # on a live line its last hours.
        assert [(plan, sql) for plan, sql in found if not plan.startswith("SEARCH units ")] == []
    finally:
        store.dispose()
