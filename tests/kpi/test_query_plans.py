"""Every query of a windowed KPI report reads index ranges, not whole tables (EXPLAIN)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event

from linespeed.kpi import kpi_report
from tests.kpi.example import at

BIG_TABLES = ("units", "station_visits", "inspections", "defects", "station_states", "events")

# Known full scans, each waiting for an index (see the KPI note in the issue):
# units.started_at (cars started, WIP) has no index yet.
KNOWN_SCANS = {"units": "units.started_at"}


def _statements(engine: Engine, **options: Any) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        # Two local days: `day` and `shift` join their time buckets (a VALUES table).
        kpi_report(engine, since=at(-3600), until=at(25 * 3600), **options)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


@pytest.mark.parametrize("by", [None, "day", "shift", "model", "station"])
def test_no_query_scans_a_whole_table(kpi_store: Engine, by: Any) -> None:
    statements = _statements(kpi_store, by=by)
    assert statements
    with kpi_store.connect() as connection:
        for statement, params in statements:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
            for row in plan:
                detail = str(row[-1])
                words = detail.split()
                if words[0] != "SCAN" or words[1] not in BIG_TABLES:
                    continue
                if words[1] == "events" and "LIMIT" in statement and "COVERING INDEX" in detail:
                    continue  # SELECT seq FROM events LIMIT 1: is the store empty?
                known = KNOWN_SCANS.get(words[1])
                assert known is not None and known in statement, (detail, statement)
