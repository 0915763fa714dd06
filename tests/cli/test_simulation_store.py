"""`init --simulation` and `simulate`: simulated events go only into a simulation store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from linespeed.store.engine import open_store
from linespeed.store.schema import events
from tests.conftest import snapshot

EXAMPLE_EVENTS = Path(__file__).parents[2] / "src" / "linespeed" / "data" / "example-events.jsonl"


def _stored_bodies(db_url: str) -> list[dict[str, Any]]:
    engine = open_store(db_url)
    with engine.connect() as connection:
        bodies = connection.execute(select(events.c.body).order_by(events.c.seq)).scalars()
        stored = [json.loads(body) for body in bodies]
    engine.dispose()
    return stored


def _snapshot(db_url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = open_store(db_url)
    try:
        return snapshot(engine)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_init_simulation_makes_a_simulation_store_that_stays_one(run: Any, db_url: str) -> None:
    first = run("init", "--simulation", "--json")
    assert first.exit_code == 0, first.stderr
    assert first.json() == {
        "database": db_url,
        "plant": "yz1",
        "revision": 1,
        "created": True,
        "simulation": True,
    }
    again = run("init")  # without the flag: still a simulation store, and it says so
    assert again.exit_code == 0
    assert again.stdout == f"{db_url}: simulation store, plant yz1 (unchanged, revision 1)\n"
    assert run("init", "--json").json()["simulation"] is True
    assert run("init", "--simulation", "--json").json()["simulation"] is True


@pytest.mark.slow
def test_init_simulation_is_refused_on_a_real_store_holding_events(run: Any, db_url: str) -> None:
    assert run("init").stdout == f"{db_url}: plant yz1 (new revision 1)\n"
    assert run("ingest", "--json", str(EXAMPLE_EVENTS)).json()["accepted"] > 0
    before = _snapshot(db_url)

    refused = run("init", "--simulation")

    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: ")
    assert db_url in refused.stderr and "holds events" in refused.stderr
    assert "init --simulation" in refused.stderr
    assert _snapshot(db_url) == before
    assert run("init", "--json").json()["simulation"] is False


def test_an_empty_real_store_may_still_become_a_simulation_store(run: Any) -> None:
    assert run("init", "--json").json()["simulation"] is False
    assert run("init", "--simulation", "--json").json()["simulation"] is True


@pytest.mark.slow
def test_simulate_into_a_real_store_fails_at_once_and_adds_nothing(run: Any, db_url: str) -> None:
    run("init")
    before = _snapshot(db_url)

    refused = run("simulate", "--days", "1", "--into-db", "--json")

    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert refused.stderr.startswith(f"error: database {db_url} is not a simulation store")
    assert "linespeed init --simulation" in refused.stderr
    assert _snapshot(db_url) == before  # no events, no dead letters


@pytest.mark.slow
def test_simulate_into_a_simulation_store_stores_every_event_marked(run: Any, db_url: str) -> None:
    run("init", "--simulation")

    result = run("simulate", "--days", "1", "--into-db", "--json")

    assert result.exit_code == 0, result.stderr
    summary = result.json()
    assert summary["ingest"] == {
        "accepted": summary["events"],
        "duplicates": 0,
        "rejected": 0,
        "reasons": {},
    }
    stored = _stored_bodies(db_url)
    assert len(stored) == summary["events"] > 0
    assert all(body["simulated"] is True for body in stored)


@pytest.mark.slow
def test_simulate_to_a_file_and_to_stdout_marks_every_event(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl"
    to_file = run("simulate", "--days", "1", "--detail", "units", "--out", str(path), "--json")
    assert to_file.exit_code == 0, to_file.stderr
    written = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(written) == to_file.json()["events"] > 0
    assert all(event["simulated"] is True for event in written)

    to_stdout = run("simulate", "--days", "1", "--detail", "units", "--out", "-")
    assert to_stdout.exit_code == 0, to_stdout.stderr
    printed = [json.loads(line) for line in to_stdout.stdout.splitlines()]
    assert printed == written
