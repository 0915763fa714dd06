"""Several plants in one store: each numbered on its own, asked by `--plant`, recalled together."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from linespeed import cli
from linespeed.store.engine import write_transaction
from linespeed.store.plant_stores import every_plant_store
from linespeed.store.schema import events, installed_parts, units
from tests.backends import store_url
from tests.conftest import Result, cli_runner
from tests.second_plant import SECOND_SOP, second_plant

Run = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """`linespeed ARGS` in-process."""
    return cli_runner(capsys, monkeypatch)


def linespeed(*args: str) -> None:
    """Run `linespeed ARGS` in-process; fail the test unless it succeeds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["linespeed", *args])
        try:
            cli.main()
        except SystemExit as stop:
            assert not stop.code, args


@pytest.fixture(scope="module")
def two_plants(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A simulation store holding yz1 (2 days simulated) and yz2 (2 days, from 2025-01-06)."""
    folder = tmp_path_factory.mktemp("plants")
    with store_url(backend, f"sqlite:///{folder / 'company.db'}") as db_url:
        plant_file, scenario_file = second_plant(folder)
        linespeed("init", "--simulation", "--db", db_url)
        linespeed("init", "--plant", str(plant_file), "--db", db_url)
        linespeed("simulate", "--days", "2", "--into-db", "--db", db_url)
        linespeed("simulate", str(scenario_file), "--days", "2", "--into-db", "--db", db_url)
        yield db_url


def test_a_plant_the_store_does_not_hold_is_added_to_it(
    run: Run, db_url: str, tmp_path: Path
) -> None:
    plant_file, _ = second_plant(tmp_path)
    assert run("init", "--simulation", "--db", db_url).exit_code == 0
    added = run("init", "--plant", str(plant_file), "--db", db_url, "--json")
    assert added.exit_code == 0, added.stderr
    assert added.json()["plant"] == "yz2"
    assert added.json()["created"] is True
    assert added.json()["simulation"] is True  # as the store's first plant is
    again = run("init", "--plant", str(plant_file), "--db", db_url, "--json")
    assert (again.json()["revision"], again.json()["created"]) == (1, False)
    listed = run("plants", "--db", db_url, "--json").json()
    assert [entry["plant"] for entry in listed] == ["yz1", "yz2"]


def test_plants_are_listed_and_each_numbers_its_events_and_cars_from_one(
    run: Run, two_plants: str
) -> None:
    listed = run("plants", "--db", two_plants, "--json")
    assert listed.exit_code == 0, listed.stderr
    by_plant = {entry["plant"]: entry for entry in listed.json()}
    assert list(by_plant) == ["yz1", "yz2"]
    assert by_plant["yz1"]["location"] == "home"
    assert by_plant["yz2"]["location"] != "home"
    assert by_plant["yz2"]["timezone"] == "Europe/Berlin"
    with every_plant_store(two_plants) as plants:
        for plant_id, engine in plants:
            with engine.connect() as connection:
                seqs = connection.execute(select(events.c.seq).order_by(events.c.seq)).scalars()
                numbers = list(seqs)
                starts = sorted(connection.execute(select(units.c.start_seq)).scalars())
                completions = sorted(
                    number
                    for number in connection.execute(select(units.c.completion_seq)).scalars()
                    if number is not None
                )
            assert numbers == list(range(1, len(numbers) + 1)), plant_id
            assert starts == list(range(1, len(starts) + 1)), plant_id
            assert completions == list(range(1, len(completions) + 1)), plant_id
            assert by_plant[plant_id]["events"] == len(numbers)
            assert by_plant[plant_id]["cars_started"] == len(starts)
            assert by_plant[plant_id]["cars_completed"] == len(completions)
    assert by_plant["yz1"]["cars_completed"] > 0
    assert by_plant["yz2"]["cars_completed"] > 0


def test_a_question_for_one_plant_names_it_and_an_unknown_plant_is_refused(
    run: Run, two_plants: str
) -> None:
    for command in (["kpi"], ["milestones"], ["stock"], ["ramp"], ["unit", "X"]):
        unnamed = run(*command, "--db", two_plants)
        assert unnamed.exit_code == 1, command
        assert "holds plants yz1, yz2: name one with --plant" in unnamed.stderr, command
    unknown = run("kpi", "--plant", "yz9", "--db", two_plants)
    assert unknown.exit_code == 1
    assert "no plant 'yz9' (it holds: yz1, yz2)" in unknown.stderr
    first = run("milestones", "--plant", "yz1", "--db", two_plants, "--json").json()
    second = run("milestones", "--plant", "yz2", "--db", two_plants, "--json").json()
    # The first car of each plant is that plant's car number 1.
    assert first["reached"][0]["vin"][10] == "B"
    assert second["reached"][0]["vin"][10] == "C"
    assert second["reached"][0]["number"] == first["reached"][0]["number"] == 1
    assert run("kpi", "--plant", "yz2", "--db", two_plants).exit_code == 0


def test_a_lot_used_in_two_plants_is_recalled_in_both_each_car_with_its_plant(
    run: Run, two_plants: str, tmp_path: Path
) -> None:
    lot = "FLR-1101-L00001"  # the first lot of front floors: both plants' first cars
    found = run("trace", "part", "FLR-1101", "--lot", lot, "--db", two_plants, "--json")
    assert found.exit_code == 0, found.stderr
    recall = found.json()
    assert recall["plants"] == ["yz1", "yz2"]
    per_plant = Counter(car["plant"] for car in recall["cars"])
    assert set(per_plant) == {"yz1", "yz2"}
    assert sum(recall["counts"].values()) == len({car["vin"] for car in recall["cars"]})
    for car in recall["cars"]:
        assert car["vin"][10] == {"yz1": "B", "yz2": "C"}[car["plant"]]
    alone = run(
        "trace", "part", "FLR-1101", "--lot", lot, "--plant", "yz2", "--db", two_plants, "--json"
    ).json()
    assert alone["plants"] == ["yz2"]
    assert len(alone["cars"]) == per_plant["yz2"]
    csv_file = tmp_path / "recall.csv"
    run("trace", "part", "FLR-1101", "--lot", lot, "--csv", str(csv_file), "--db", two_plants)
    header, *rows = csv_file.read_text().splitlines()
    assert header.endswith(",plant")
    assert Counter(row.rsplit(",", 1)[1] for row in rows) == per_plant


def test_a_piece_recorded_in_one_plant_only_is_no_error_and_one_nowhere_is(
    run: Run, two_plants: str
) -> None:
    pieces: dict[str, dict[tuple[str, str], str]] = {}
    with every_plant_store(two_plants) as plants:
        for plant_id, engine in plants:
            with engine.connect() as connection:
                found = connection.execute(
                    select(
                        installed_parts.c.part, installed_parts.c.serial, installed_parts.c.vin
                    ).where(installed_parts.c.serial.is_not(None))
                ).all()
            pieces[plant_id] = {(part, serial): vin for part, serial, vin in found}
    # yz2 starts at a higher rate than yz1: it has built cars with serials yz1 never saw.
    part, serial = min(pieces["yz2"].keys() - pieces["yz1"].keys())
    vin = pieces["yz2"][part, serial]
    recalled = run("trace", "part", part, "--serial", serial, "--db", two_plants, "--json")
    assert recalled.exit_code == 0, recalled.stderr
    assert [(car["plant"], car["vin"]) for car in recalled.json()["cars"]] == [("yz2", vin)]
    nowhere = run("trace", "part", part, "--lot", "NO-SUCH-LOT", "--db", two_plants)
    assert nowhere.exit_code == 1
    assert f"lot 'NO-SUCH-LOT' of part '{part}' was never recorded" in nowhere.stderr


def test_plants_ramps_are_compared_in_days_since_each_start_of_production(
    run: Run, two_plants: str
) -> None:
    compared = run("ramp", "--plant", "yz1", "--plant", "yz2", "--db", two_plants, "--json")
    assert compared.exit_code == 0, compared.stderr
    report = compared.json()
    assert report["aligned_on"] == "start of production"
    plants = {one["plant"]: one for one in report["plants"]}
    assert plants["yz1"]["start_of_production"] == "2024-03-01"
    assert plants["yz2"]["start_of_production"] == SECOND_SOP
    for one in plants.values():
        start = one["cumulative"][0][0]
        assert one["days_since_sop"][0][1] == one["cumulative"][0][1]
        assert one["days_since_sop"][-1][1] == one["cars"]
        assert all(days >= 0 for days, _ in one["days_since_sop"])
        assert start >= one["start_of_production"]
    rows = [row["series"] for row in report["comparison"]["rows"]]
    assert rows == ["yz1", "yz2"]


def test_writers_of_two_plants_do_not_wait_for_each_other(two_plants: str) -> None:
    with every_plant_store(two_plants) as plants:
        (_, first), (_, second) = plants
        wrote = threading.Event()

        def write_second() -> None:
            with write_transaction(second) as connection:
                connection.execute(select(1))
            wrote.set()

        with write_transaction(first):
            writer = threading.Thread(target=write_second)
            writer.start()
            # Bounded only so that a broken store fails rather than hangs the suite.
            finished = wrote.wait(timeout=60)
        writer.join()
    assert finished, "plant yz2's writer waited for plant yz1's write lock"


def test_init_of_a_store_of_another_plant_without_a_plant_file_only_migrates(
    run: Run, db_url: str, tmp_path: Path
) -> None:
    plant_file, _ = second_plant(tmp_path)
    assert run("init", "--plant", str(plant_file), "--db", db_url).exit_code == 0
    again = run("init", "--db", db_url, "--json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["plant"] == "yz2"
    assert again.json()["created"] is False
    assert [entry["plant"] for entry in run("plants", "--db", db_url, "--json").json()] == ["yz2"]
