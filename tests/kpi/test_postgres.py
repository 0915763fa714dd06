"""The same KPI report on PostgreSQL as on SQLite (one schema, tested on both).

Runs when LINESPEED_TEST_PG_URL names a PostgreSQL server URL, e.g.
`postgresql+psycopg://postgres@127.0.0.1:5432/postgres`; a throwaway database is created
on it and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from linespeed.kpi import kpi_report
from tests.conftest import ingest, make_store
from tests.kpi.example import at, example_events, example_plant

pytestmark = pytest.mark.service
SERVER = os.environ.get("LINESPEED_TEST_PG_URL")


@pytest.fixture(scope="module")
def postgres_store() -> Iterator[Engine]:
    if not SERVER:
        if os.environ.get("CI") == "true":
            pytest.fail("under CI the PostgreSQL tests must run: LINESPEED_TEST_PG_URL is not set")
        pytest.skip("set LINESPEED_TEST_PG_URL to a PostgreSQL URL to run")
    name = f"linespeed_kpi_{uuid.uuid4().hex[:12]}"
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    plant = example_plant()
    store = make_store(make_url(SERVER).set(database=name).render_as_string(False), plant)
    try:
        ingest(store, example_events(plant))
        yield store
    finally:
        store.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}"'))
        admin.dispose()


@pytest.mark.parametrize("by", [None, "day", "shift", "station", "model", "color"])
def test_postgres_gives_the_sqlite_report(
    postgres_store: Engine, kpi_store: Engine, by: Any
) -> None:
    for since, until in ((at(0), at(3600)), (at(-3600), at(90000))):
        expected = msgspec.to_builtins(kpi_report(kpi_store, since=since, until=until, by=by))
        found = kpi_report(postgres_store, since=since, until=until, by=by)
        assert msgspec.to_builtins(found) == expected
