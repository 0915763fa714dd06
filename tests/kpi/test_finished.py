"""A finished day's or shift's report is kept once computed, and is always the report the
visits give: after a late event for the day, after `rebuild`, under a new plan revision."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from sqlalchemy import Engine, func, select

from linespeed.ingest.core import Ingestor
from linespeed.ingest.lines import ingest_lines
from linespeed.kpi import GroupBy, kpi_report
from linespeed.kpi.window import Window, local_midnight, shift_spans
from linespeed.plant.model import Plant
from linespeed.sim.emit import event_lines
from linespeed.sim.run import simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
from linespeed.store.engine import write_transaction
from linespeed.store.rebuild import rebuild
from linespeed.store.schema import kpi_reports
from linespeed.supply.plan import import_plan
from tests.backends import store_url
from tests.conftest import ingest, make_store
from tests.plans import full_scans


@pytest.fixture(scope="module")
def stream() -> list[bytes]:
    """Six days of the simulated line (three production days), every station, part and check."""
    return list(event_lines(simulate(load_scenario(DEFAULT_SCENARIO_PATH), days=6)))


@pytest.fixture
def sim_store(backend: str, stream: list[bytes], plant: Plant) -> Iterator[Engine]:
    """A simulation store holding the six days."""
    with store_url(backend, "sqlite://") as url:
        store = make_store(url, plant, simulation=True)
        assert ingest_lines(Ingestor(store), stream, "sim").rejected == 0
        yield store
        store.dispose()


def _second_day(stream: list[bytes], plant: Plant) -> date:
    zone = ZoneInfo(plant.timezone)
    days = sorted(
        {
            datetime.fromisoformat(json.loads(line)["ts"]).astimezone(zone).date()
            for line in stream
            if b'"station.completed"' in line
        }
    )
    return days[1]


def _day(plant: Plant, day: date) -> Window:
    zone = ZoneInfo(plant.timezone)
    return Window(local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone))


def _json(store: Engine, window: Window, by: GroupBy | None, *, keep: bool) -> bytes:
    """The report's JSON, as the CLI and the API give it."""
    return msgspec.json.encode(
        kpi_report(store, since=window.since, until=window.until, by=by, keep=keep)
    )


def _kept(store: Engine) -> int:
    with store.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(kpi_reports)).scalar_one())


def test_a_kept_day_is_the_computed_day(
    sim_store: Engine, stream: list[bytes], plant: Plant
) -> None:
    window = _day(plant, _second_day(stream, plant))
    groupings: list[GroupBy | None] = [None, "station", "shift", "day", "model"]
    for number, by in enumerate(groupings):
        computed = _json(sim_store, window, by, keep=False)
        assert _kept(sim_store) == number
        first = _json(sim_store, window, by, keep=True)
        assert _kept(sim_store) == number + 1
        again = _json(sim_store, window, by, keep=True)
        assert (first, again) == (computed, computed), by
        assert sum(row["processed"] for row in json.loads(computed)["stations"]) > 0


def test_a_late_event_for_a_kept_day_changes_its_report(
    sim_store: Engine, stream: list[bytes], plant: Plant
) -> None:
    day = _second_day(stream, plant)
    window = _day(plant, day)
    before = _json(sim_store, window, None, keep=True)
    station = plant.lines[0].stations[3].id
    noon = window.since + timedelta(hours=12)
    late = [
        {
            "id": "late-1",
            "kind": "station.state",
            "ts": noon.isoformat(),
            "station": station,
            "state": "down",
            "reason": "late report",
        },
        {
            "id": "late-2",
            "kind": "station.state",
            "ts": (noon + timedelta(minutes=20)).isoformat(),
            "station": station,
            "state": "running",
        },
    ]
    assert {outcome.status for outcome in ingest(sim_store, late)} == {"accepted"}

    after = _json(sim_store, window, None, keep=True)

    assert after == _json(sim_store, window, None, keep=False)
    assert json.loads(after)["unplanned_down_s"] > json.loads(before)["unplanned_down_s"]
    assert _json(sim_store, window, None, keep=True) == after


def test_a_shift_is_kept_and_rebuild_forgets_what_was_kept(
    sim_store: Engine, stream: list[bytes], plant: Plant
) -> None:
    day = _second_day(stream, plant)
    shift = shift_spans(plant, _day(plant, day))[0]
    window = Window(shift.start, shift.end)
    computed = _json(sim_store, window, "station", keep=False)
    assert _json(sim_store, window, "station", keep=True) == computed
    assert _kept(sim_store) == 1

    rebuild(sim_store)

    assert _kept(sim_store) == 0
    assert _json(sim_store, window, "station", keep=True) == computed


def test_an_unfinished_day_is_not_kept(
    sim_store: Engine, stream: list[bytes], plant: Plant
) -> None:
    zone = ZoneInfo(plant.timezone)
    last = max(datetime.fromisoformat(json.loads(line)["ts"]) for line in stream)
    window = _day(plant, last.astimezone(zone).date())
    _json(sim_store, window, None, keep=True)
    assert _kept(sim_store) == 0


def test_reading_a_kept_day_scans_no_table(
    sim_store: Engine, stream: list[bytes], plant: Plant
) -> None:
    window = _day(plant, _second_day(stream, plant))
    _json(sim_store, window, None, keep=True)

    def question() -> object:
        return _json(sim_store, window, None, keep=True)

    assert full_scans(sim_store, question) == []
    assert _kept(sim_store) == 1


def test_a_report_is_answered_while_a_writer_holds_the_store(
    tmp_path: Path, stream: list[bytes], plant: Plant
) -> None:
    """SQLite: keeping waits at most WAIT_MS for the write lock, then gives up (PostgreSQL's
    writers lock each other out with an advisory lock, which keeping does not take)."""
    store = make_store(f"sqlite:///{tmp_path / 'held.db'}", plant, simulation=True)
    assert ingest_lines(Ingestor(store), stream, "sim").rejected == 0
    window = _day(plant, _second_day(stream, plant))
    computed = _json(store, window, None, keep=False)
    with write_transaction(store):
        assert _json(store, window, None, keep=True) == computed
    assert _kept(store) == 0
    assert _json(store, window, None, keep=True) == computed
    assert _kept(store) == 1
    store.dispose()


def test_a_new_plan_revision_computes_a_kept_day_again(
    sim_store: Engine, stream: list[bytes], plant: Plant
) -> None:
    day = _second_day(stream, plant)
    window = _day(plant, day)
    before = _json(sim_store, window, None, keep=True)
    import_plan(sim_store, f"date,line,shift,model,quantity\n{day},l1,A,,7\n".encode(), "p.csv")

    after = _json(sim_store, window, None, keep=True)

    assert after == _json(sim_store, window, None, keep=False)
    assert json.loads(after)["planned"] != json.loads(before)["planned"]
