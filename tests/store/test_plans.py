"""The query-plan check used across the suites finds a whole-table scan when there is one."""

from __future__ import annotations

from sqlalchemy import Engine, select

from linespeed.store.schema import events, installed_parts
from tests.plans import full_scans


def test_a_scan_is_found_and_an_index_lookup_is_not(memory_engine: Engine) -> None:
    def scan() -> object:
        with memory_engine.connect() as connection:
            return connection.execute(select(events).where(events.c.body.like("%x%"))).all()

    def lookup() -> object:
        with memory_engine.connect() as connection:
            query = select(installed_parts).where(installed_parts.c.vin == "LSPA1S7E8SB000001")
            return connection.execute(query).all()

    assert [table for table, _ in full_scans(memory_engine, scan)] == ["events"]
    assert full_scans(memory_engine, lookup) == []
