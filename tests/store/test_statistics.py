"""PostgreSQL keeps its plans as the store grows: ingest analyses growing tables itself.

The query-plan tests elsewhere switch sequential scans off, so a small store cannot hide a
missing index; here the planner chooses freely, from the statistics ingest left, on a
store large enough that reading a whole table would cost more than its index.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from linespeed.events.codec import encode_event
from linespeed.ingest.core import Ingestor, RawEvent, batched
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.store.statistics import GROWING_TABLES, refresh_statistics
from linespeed.trace import part_recall, unit_history, vin_trace
from tests.backends import postgres_schema_url
from tests.conftest import make_store
from tests.plans import full_scans

CARS = 600
LAST_EVENTS = 100
"""The batch whose lookups are explained: a live batch, small beside the store."""
LARGE_ROWS = 10_000
"""Tables this large must not be read whole (`units`, one row per car, is still small
here: scanning 600 rows is the planner's right choice, and not a plan that degrades)."""


@pytest.fixture(scope="module")
def grown_store(plant: Plant) -> Iterator[tuple[Engine, list[RawEvent]]]:
    """A PostgreSQL store of CARS cars at full detail, ingested in batches (never analysed
    by hand, autovacuum or not), and the last events of the stream, not yet ingested."""
    with postgres_schema_url() as url:
        store = make_store(url, plant)
        items = [
            RawEvent(encode_event(event), "example")
            for event in example_events(plant, ExampleSettings(cars=CARS))
        ]
        ingestor = Ingestor(store)
        for outcomes in ingestor.ingest_batches(batched(items[:-LAST_EVENTS])):
            assert {outcome.status for outcome in outcomes} == {"accepted"}
        yield store, items[-LAST_EVENTS:]
        store.dispose()


@pytest.mark.service
@pytest.mark.slow
def test_ingest_leaves_the_growing_tables_analysed(
    grown_store: tuple[Engine, list[RawEvent]],
) -> None:
    store, _ = grown_store
    with store.connect() as connection:
        analysed = connection.execute(
            text(
                "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema()"
                " AND coalesce(last_analyze, last_autoanalyze) IS NOT NULL"
            )
        ).scalars()
        assert {"events", "units", "station_visits", "installed_parts"} <= set(analysed)
    # nothing has grown since: no table is due again
    assert refresh_statistics(store) == []
    assert set(GROWING_TABLES) >= {"events", "installed_parts", "units"}


@pytest.mark.service
@pytest.mark.slow
def test_the_planner_reads_indexes_of_its_own_accord(
    grown_store: tuple[Engine, list[RawEvent]], plant: Plant
) -> None:
    store, last = grown_store
    with store.connect() as connection:
        vin, lot, serial = connection.execute(
            text(
                "SELECT p.vin, l.lot, s.serial FROM installed_parts p"
                " JOIN installed_parts l ON l.vin = p.vin AND l.lot IS NOT NULL"
                " JOIN installed_parts s ON s.vin = p.vin AND s.serial IS NOT NULL LIMIT 1"
            )
        ).one()
        lot_part, serial_part = connection.execute(
            text(
                "SELECT (SELECT part FROM installed_parts WHERE lot = :lot LIMIT 1),"
                " (SELECT part FROM installed_parts WHERE serial = :serial LIMIT 1)"
            ),
            {"lot": lot, "serial": serial},
        ).one()
    questions = {
        "ingest of a further batch": lambda: Ingestor(store).ingest(last),
        "unit": lambda: unit_history(store, vin),
        "trace vin": lambda: vin_trace(store, vin),
        "trace lot": lambda: part_recall(store, lot_part, lots=[lot]),
        "trace serial": lambda: part_recall(store, serial_part, serial=serial),
    }
    with store.connect() as connection:
        large = {
            name
            for name in GROWING_TABLES
            if connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one() >= LARGE_ROWS
        }
    assert {"events", "installed_parts", "station_visits"} <= large
    scans = {
        name: [
            (table, sql)
            for table, sql in full_scans(store, question, seqscan_allowed=True)
            if table in large
        ]
        for name, question in questions.items()
    }
    assert scans == {name: [] for name in questions}
