"""`linespeed backup` and `restore`: a live SQLite store, every plant of it, copied and back."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from linespeed.store.engine import connect
from linespeed.store.plant_stores import every_plant_store
from linespeed.store.schema import events
from tests.backends import postgres_schema_url
from tests.conftest import Result, cli_runner, ingest, snapshot
from tests.natsio.conftest import line_events
from tests.second_plant import second_plant

Run = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """`linespeed ARGS` in-process."""
    return cli_runner(capsys, monkeypatch)


@pytest.fixture
def live(run: Run, tmp_path: Path) -> Iterator[str]:
    """A simulation store of two plants, a day of each ingested, while a process holds it
    open: its newest pages sit in its write-ahead log, not yet in the database file."""
    db_url = f"sqlite:///{tmp_path / 'live.db'}"
    plant_file, scenario_file = second_plant(tmp_path)
    assert run("init", "--simulation", "--db", db_url).exit_code == 0
    keeper = sqlite3.connect(tmp_path / "live.db")  # the last to close would empty the log
    keeper.execute("SELECT count(*) FROM events").fetchone()  # joins the log: holds it open
    try:
        for args in (
            ["init", "--plant", str(plant_file)],
            ["simulate", "--days", "1", "--into-db"],
            ["simulate", str(scenario_file), "--days", "1", "--into-db"],
        ):
            done = run(*args, "--db", db_url)
            assert done.exit_code == 0, done.stderr
        assert (tmp_path / "live.db-wal").stat().st_size > 0
        yield db_url
    finally:
        keeper.close()


def test_a_backup_restored_holds_every_row_of_every_plant(
    run: Run, live: str, tmp_path: Path
) -> None:
    backup_file = tmp_path / "backups" / "b.db"
    backup_file.parent.mkdir()
    made = run("backup", str(backup_file), "--db", live, "--json")
    assert made.exit_code == 0, made.stderr
    assert [plant["plant"] for plant in made.json()] == ["yz1", "yz2"]
    assert [Path(plant["file"]).name for plant in made.json()] == ["b.db", "b.yz2.db"]
    restored_url = f"sqlite:///{tmp_path / 'restored.db'}"
    back = run("restore", str(backup_file), "--db", restored_url, "--json")
    assert back.exit_code == 0, back.stderr
    assert [plant["events"] for plant in back.json()] == [plant["events"] for plant in made.json()]
    with every_plant_store(live) as originals, every_plant_store(restored_url) as copies:
        assert [plant for plant, _ in originals] == [plant for plant, _ in copies]
        for (plant, original), (_, copy) in zip(originals, copies, strict=True):
            assert snapshot(copy, skip=["plant_stores"]) == snapshot(
                original, skip=["plant_stores"]
            ), plant
    # the store's list of plants names the same plants, whose files are the restored ones
    listed = run("plants", "--db", restored_url, "--json").json()
    assert [(entry["plant"], entry["location"]) for entry in listed] == [
        ("yz1", "home"),
        ("yz2", "restored.yz2.db"),
    ]


def test_a_backup_taken_while_ingest_goes_on_is_one_consistent_snapshot(
    live: str, tmp_path: Path
) -> None:
    from linespeed.store.backup import backup_store

    more = line_events(2, seed=7)  # another run's cars: new VINs for the first plant
    with every_plant_store(live, ("yz1",)) as [(_, engine)]:
        before = len(snapshot(engine)["events"])
        writing = threading.Thread(
            target=lambda: [ingest(engine, more[at : at + 200]) for at in range(0, len(more), 200)]
        )
        writing.start()
        try:
            backup_store(live, tmp_path / "during.db")
        finally:
            writing.join()
    copy = connect(f"sqlite:///{tmp_path / 'during.db'}")
    with copy.connect() as connection:
        numbers = list(connection.execute(select(events.c.seq).order_by(events.c.seq)).scalars())
    copy.dispose()
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) >= before


def test_restore_refuses_to_overwrite_a_store_and_names_what_is_not_a_backup(
    run: Run, live: str, tmp_path: Path
) -> None:
    backup_file = tmp_path / "b.db"
    assert run("backup", str(backup_file), "--db", live).exit_code == 0
    again = run("backup", str(backup_file), "--db", live)
    assert (again.exit_code, again.stderr.strip()) == (
        1,
        f"error: {backup_file} exists: back up to a new file",
    )
    over = run("restore", str(backup_file), "--db", live)
    assert over.exit_code == 1
    assert "live.db exists: give --replace to overwrite it" in over.stderr
    not_a_store = tmp_path / "notes.txt"
    not_a_store.write_text("not a database")
    refused = run("restore", str(not_a_store), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert refused.exit_code == 1
    assert f"{not_a_store} is not a linespeed store" in refused.stderr
    (tmp_path / "b.yz2.db").unlink()
    partial = run("restore", str(backup_file), "--db", f"sqlite:///{tmp_path / 'y.db'}")
    assert partial.exit_code == 1
    assert "plant yz2's file of the backup, is missing" in partial.stderr
    assert not (tmp_path / "y.db").exists() or (tmp_path / "y.db").stat().st_size == 0


@pytest.mark.service
def test_a_postgresql_store_is_pointed_to_pg_dump(run: Run, tmp_path: Path) -> None:
    with postgres_schema_url() as url:
        assert run("init", "--db", url).exit_code == 0
        refused = run("backup", str(tmp_path / "b.db"), "--db", url)
    assert refused.exit_code == 1
    assert "backed up with pg_dump" in refused.stderr
    assert not (tmp_path / "b.db").exists()
