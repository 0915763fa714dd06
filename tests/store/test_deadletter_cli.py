"""`linespeed deadletters` filtered, `deadletters dismiss` and `deadletters assign`: what a
person at the command line sees, audited as the operating-system user."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from linespeed.access.audit import list_audit
from linespeed.ingest.corrections import os_user
from linespeed.plant.model import Plant
from linespeed.store.deadletters import list_dead_letters
from tests.conftest import Result, cli_runner, ingest, make_store
from tests.ingest.line import event, vin


@pytest.fixture
def store(db_url: str, plant: Plant) -> Iterator[Engine]:
    """A store with three dead letters: car 1 never started (body-010, then ga-140 as a line
    event of another car), and a malformed payload."""
    engine = make_store(db_url, plant)
    ingest(
        engine,
        [
            event("station.entered", vin=vin(plant, "s7", 1), station="body-010"),
            event("station.entered", vin=vin(plant, "s7", 2), station="ga-140"),
            b"not json",
        ],
    )
    yield engine
    engine.dispose()


@pytest.fixture
def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str
) -> Callable[..., Result]:
    """`linespeed ARGS` on the test store."""
    monkeypatch.setenv("LINESPEED_DB", db_url)
    return cli_runner(capsys, monkeypatch)


def _ids(result: Result) -> list[int]:
    assert result.exit_code == 0, result.stderr
    return [letter["id"] for letter in result.json()]


def test_filters_list_only_the_matching_letters(
    store: Engine, plant: Plant, run: Callable[..., Result]
) -> None:
    first, second, third = (letter.id for letter in list_dead_letters(store))
    assert _ids(run("deadletters", "--json")) == [first, second, third]
    assert _ids(run("deadletters", "--vin", vin(plant, "s7", 2), "--json")) == [second]
    assert _ids(run("deadletters", "--station", "body-010", "--json")) == [first]
    assert _ids(run("deadletters", "--reason", "json.malformed", "--json")) == [third]
    assert _ids(run("deadletters", "--reason", "unit.unknown", "--limit", "1", "--json")) == [first]
    assert _ids(run("deadletters", "--source", "test:3", "--json")) == [third]
    assert _ids(run("deadletters", "--since", "2020-01-01T00:00+08:00", "--json")) == [
        first,
        second,
        third,
    ]
    assert _ids(run("deadletters", "--until", "2020-01-01T00:00Z", "--json")) == []
    assert _ids(run("deadletters", "--reason", "no.such_reason", "--json")) == []
    assert run("deadletters", "--reason", "no.such_reason").stdout == "no open dead letters match\n"


def test_a_time_without_offset_names_the_option(store: Engine, run: Callable[..., Result]) -> None:
    done = run("deadletters", "--since", "2025-06-30T09:00")
    assert done.exit_code == 1
    assert "--since 2025-06-30T09:00:00 has no UTC offset" in done.stderr


def test_dismiss_and_assign_are_shown_and_audited_as_the_os_user(
    store: Engine, run: Callable[..., Result]
) -> None:
    first, second, third = (letter.id for letter in list_dead_letters(store))
    done = run("deadletters", "dismiss", str(third), "--note", "bench test payload")
    assert done.exit_code == 0, done.stderr
    assert done.stdout == f"#{third} json.malformed test:3: dismissed\n"
    done = run("deadletters", "assign", str(first), str(second), "--to", "Li Wei", "--json")
    assert [(x["id"], x["assignee"], x["status"]) for x in done.json()] == [
        (first, "Li Wei", "open"),
        (second, "Li Wei", "open"),
    ]
    user = os_user().name
    assert {x["handled_by"] for x in done.json()} == {user}
    assert _ids(run("deadletters", "--json")) == [first, second]
    assert _ids(run("deadletters", "--assignee", "Li Wei", "--json")) == [first, second]
    listed = run("deadletters", "--all").stdout
    assert f"dismissed by {user}" in listed and "bench test payload" in listed
    assert f"assigned to Li Wei by {user}" in listed
    audited = [(entry.action, entry.path) for entry in list_audit(store)]
    assert audited == [
        ("deadletters.assign", f"deadletters/{second}"),
        ("deadletters.assign", f"deadletters/{first}"),
        ("deadletters.dismiss", f"deadletters/{third}"),
    ]
    assert all(user in entry.detail for entry in list_audit(store))


def test_the_plant_option_before_the_subcommand_is_kept(
    store: Engine, plant: Plant, run: Callable[..., Result]
) -> None:
    first = list_dead_letters(store)[0].id
    done = run(
        "deadletters", "--plant", plant.plant, "--json", "dismiss", str(first), "--note", "x"
    )
    assert done.exit_code == 0, done.stderr
    assert done.json()[0]["status"] == "dismissed"
    other = run("deadletters", "--plant", "no-such-plant", "assign", str(first), "--to", "x")
    assert other.exit_code == 1


def test_an_unknown_or_handled_letter_exits_1_and_changes_nothing(
    store: Engine, run: Callable[..., Result]
) -> None:
    first, *_ = (letter.id for letter in list_dead_letters(store))
    done = run("deadletters", "dismiss", str(first), "424242", "--note", "why")
    assert done.exit_code == 1
    assert "no dead letter #424242" in done.stderr
    assert list_dead_letters(store)[0].status == "open"
    assert run("deadletters", "assign", "424242", "--to", "Li Wei").exit_code == 1
    assert run("deadletters", "dismiss", str(first), "--note", "first").exit_code == 0
    again = run("deadletters", "dismiss", str(first), "--note", "second")
    assert again.exit_code == 1
    assert f"dead letter #{first} is already dismissed" in again.stderr
    blank = run("deadletters", "assign", str(first + 1), "--to", " ")
    assert blank.exit_code == 1
    assert "--to is empty" in blank.stderr
