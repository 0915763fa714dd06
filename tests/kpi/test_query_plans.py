"""Every query of a windowed KPI report reads index ranges, not whole tables (EXPLAIN)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from linespeed.kpi import kpi_report
from tests.kpi.example import at
from tests.plans import full_scans


@pytest.mark.parametrize("by", [None, "day", "shift", "model", "station"])
def test_no_query_scans_a_whole_table(kpi_store: Engine, by: Any) -> None:
    # Two local days: `day` and `shift` join their time buckets (a VALUES table).
    def report() -> object:
        return kpi_report(kpi_store, since=at(-3600), until=at(25 * 3600), by=by)

    assert full_scans(kpi_store, report) == []
