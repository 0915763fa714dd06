"""`linespeed_line_last_event_age_seconds`: each line's newest car start or completion, read
from the store at scrape time in one query over the `units` indexes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from linespeed.metrics import LineAgeCollector, NewestCars, joined, newest_unit_times, scrape
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.store.schema import units
from tests.backends import any_db_url, backend
from tests.conftest import ingest, make_store
from tests.metrics.scraping import families

__all__ = ["any_db_url", "backend"]  # every test on SQLite and PostgreSQL


def _newest_in_store(engine: Engine) -> datetime:
    with engine.connect() as connection:
        newest = connection.execute(
            select(func.max(units.c.completed_at), func.max(units.c.started_at))
        ).one()
    latest: datetime = max(at for at in newest if at is not None)
    return latest


def test_the_age_of_each_line_is_from_its_newest_car_start_or_completion(
    engine: Engine, plant: Plant
) -> None:
    ingest(engine, list(example_events(plant, ExampleSettings(cars=2))))
    latest = _newest_in_store(engine)
    with engine.connect() as connection:
        assert newest_unit_times(connection, ["l1", "l9"]) == {"l1": latest, "l9": None}
    now = latest + timedelta(seconds=90)

    text = scrape(joined(LineAgeCollector(engine, now=lambda: now))).decode()

    gauge = families(text)["linespeed_line_last_event_age_seconds"]
    assert gauge.type == "gauge"
    assert [(sample.labels, sample.value) for sample in gauge.samples] == [
        ({"plant": plant.plant, "line": "l1"}, 90.0)
    ]


def test_later_looks_read_the_cars_since_and_keep_the_newest(engine: Engine, plant: Plant) -> None:
    cars = list(example_events(plant, ExampleSettings(cars=4)))
    newest = NewestCars()
    with engine.connect() as connection:
        assert newest.look(connection, ["l1", "l9"]) == {"l1": None, "l9": None}
    ingest(engine, cars[: len(cars) // 2])
    with engine.connect() as connection:
        assert newest.look(connection, ["l1", "l9"]) == {
            "l1": _newest_in_store(engine),
            "l9": None,
        }
    ingest(engine, cars)
    with engine.connect() as connection:
        assert newest.look(connection, ["l1"]) == {"l1": _newest_in_store(engine)}
        assert newest.look(connection, ["l1"]) == {"l1": _newest_in_store(engine)}


def test_a_line_without_cars_has_no_sample(engine: Engine) -> None:
    text = scrape(joined(LineAgeCollector(engine))).decode()
    assert families(text)["linespeed_line_last_event_age_seconds"].samples == []


def _plan(engine: Engine, newest: NewestCars) -> list[str]:
    query = newest.query(["l1", "l2"])
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        return [str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]


def test_the_first_look_walks_the_time_indexes_and_later_ones_the_number_ranges(
    plant: Plant, tmp_path: Path
) -> None:
    # SQLite's plan only: PostgreSQL's depends on its statistics
    engine = make_store(f"sqlite:///{tmp_path / 'plans.db'}", plant)
    newest = NewestCars()
    first = _plan(engine, newest)
    on_units = [plan for plan in first if "units" in plan]
    assert len(on_units) == 8, first  # per line: its start, its completion, the greatest numbers
    assert all("USING INDEX ix_units_" in plan or "COVERING INDEX" in plan for plan in on_units)
    assert not any("TEMP B-TREE" in plan for plan in first), first

    with engine.connect() as connection:
        newest.look(connection, ["l1"])
    later = [plan for plan in _plan(engine, newest) if plan.startswith("SEARCH units")]
    engine.dispose()
    assert [plan.split(" (")[-1] for plan in later] == ["start_seq>?)", "completion_seq>?)"]


def test_a_store_that_cannot_be_read_gives_no_line_ages(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "DROP TABLE units CASCADE"
            if engine.dialect.name == "postgresql"
            else "DROP TABLE units"
        )
    text = scrape(joined(LineAgeCollector(engine))).decode()
    assert families(text)["linespeed_line_last_event_age_seconds"].samples == []
