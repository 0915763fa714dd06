"""The `linespeed` command, checked by exit code and output, then through the library."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer

from linespeed import cli
from linespeed.plant.load import DEFAULT_PLANT_PATH
from linespeed.plant.model import Plant
from linespeed.store.deadletters import list_dead_letters
from linespeed.store.engine import open_store
from linespeed.trace.history import unit_history
from tests.ingest.line import event, start, vin

DOCS = Path(__file__).parents[2] / "docs"


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_vin_check_json_says_valid(run: Any) -> None:
    result = run("vin", "check", "--json", "1M8GDM9AXKP042788")
    assert result.exit_code == 0
    body = result.json()
    assert body["valid"] is True
    assert body["vins"][0]["vin"] == "1M8GDM9AXKP042788"
    assert body["vins"][0]["valid"] is True


def test_vin_check_names_the_bad_check_digit_and_exits_1(run: Any) -> None:
    result = run("vin", "check", "1M8GDM9AXKP042788", "1M8GDM9A1KP042788")
    assert result.exit_code == 1
    assert "1M8GDM9AXKP042788: valid" in result.stdout
    assert "1M8GDM9A1KP042788: invalid (vin.check_digit)" in result.stdout
    assert "expected 'X', found '1'" in result.stdout


def test_plant_check_accepts_the_default_plant(run: Any) -> None:
    result = run("plant", "check", "--json", str(DEFAULT_PLANT_PATH))
    assert result.exit_code == 0
    assert result.json()["valid"] is True
    assert result.json()["stations"] >= 40


def test_plant_check_names_file_line_and_field(run: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = DEFAULT_PLANT_PATH.read_text().replace("cycle_s: 66", "cycle_s: -66", 1)
    bad.write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "cycle_s: -66" in row)
    result = run("plant", "check", str(bad))
    assert result.exit_code == 1
    assert re.search(
        rf"{re.escape(str(bad))}:{line}: lines\[0\]\.stations\[\d+\]\.cycle_s:", result.stderr
    )
    assert "-66" in result.stderr


@pytest.mark.slow
def test_init_ingest_unit_rebuild_round_trip(
    run: Any, plant: Plant, tmp_path: Path, db_url: str
) -> None:
    assert run("init", "--json").json() == {
        "database": db_url,
        "plant": "yz1",
        "revision": 1,
        "created": True,
        "simulation": False,
    }
    assert run("init", "--json").json()["created"] is False
    car = vin(plant, "s7", 1)
    path = _jsonl(
        tmp_path / "e.jsonl",
        [
            start(plant, "s7", 1),
            event("station.completed", vin=car, station="body-010", result="ok"),
            event("station.completed", vin=car, station="body-030", result="ok"),
        ],
    )

    result = run("ingest", "--json", str(path))

    assert result.exit_code == 0
    assert result.json() == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": 1,
        "reasons": {"station.missed": 1},
    }
    history = run("unit", "--json", car).json()
    assert history["status"] == "in_production"
    assert history["start_seq"] == 1
    assert [visit["station"] for visit in history["stations"]] == ["body-010"]
    assert history == json.loads(json.dumps(_builtins(unit_history(open_store(), car))))
    assert run("rebuild", "--json").json() == {"replayed": 2}
    assert run("unit", "--json", car).json() == history
    human = run("unit", car)
    assert car in human.stdout and "body-010" in human.stdout


def _builtins(value: Any) -> Any:
    import msgspec

    return msgspec.to_builtins(value)


@pytest.mark.slow
def test_deadletters_list_and_retry_resolves_what_now_fits(
    run: Any, plant: Plant, tmp_path: Path
) -> None:
    run("init")
    car = vin(plant, "s7", 1)
    early = _jsonl(
        tmp_path / "early.jsonl",
        [event("station.completed", vin=car, station="body-010", result="ok")],
    )
    assert run("ingest", "--json", str(early)).json()["reasons"] == {"unit.unknown": 1}
    letters = run("deadletters", "--json").json()
    assert [(letter["reason"], letter["source"], letter["status"]) for letter in letters] == [
        ("unit.unknown", f"{early}:1", "open")
    ]
    assert (
        run(
            "ingest", "--json", str(_jsonl(tmp_path / "start.jsonl", [start(plant, "s7", 1)]))
        ).json()["accepted"]
        == 1
    )

    retried = run("deadletters", "--json", "retry")

    assert retried.json() == {
        "retried": 1,
        "skipped": 0,
        "accepted": 1,
        "duplicates": 0,
        "rejected": 0,
        "reasons": {},
    }
    assert run("deadletters", "--json").json() == []
    (resolved,) = list_dead_letters(open_store(), None)
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    assert unit_history(open_store(), car).last_station == "body-010"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ingest", "nothing.jsonl"), "linespeed init"),
        (("unit", "LSPA1S7E8SB000001"), "linespeed init"),
        (("init", "--plant", "missing.yaml"), "missing.yaml"),
    ],
)
def test_errors_print_a_message_and_exit_1(run: Any, args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") or "missing.yaml" in result.stderr
    assert message in result.stderr


@pytest.mark.slow
def test_unit_errors_name_the_vin(run: Any) -> None:
    run("init")
    unknown = run("unit", "LSPA1S7E8SB000001")
    assert (unknown.exit_code, "no car with VIN LSPA1S7E8SB000001" in unknown.stderr) == (1, True)
    malformed = run("unit", "LSPA1S7E9SB000001")
    assert (malformed.exit_code, "check digit" in malformed.stderr) == (1, True)
    missing_file = run("ingest", "nothing.jsonl")
    assert (missing_file.exit_code, "nothing.jsonl: no such file" in missing_file.stderr) == (
        1,
        True,
    )


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found: list[tuple[tuple[str, ...], Any]] = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        found.append((path, command))
        if hasattr(command, "commands"):
            found.extend(_commands(command, path))
    return found


COMMANDS = _commands(typer.main.get_group(cli.app))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_and_a_docs_section(path: tuple[str, ...], command: Any) -> None:
    assert (command.help or "").strip(), path
    if hasattr(command, "commands") and not command.invoke_without_command:
        return
    heading = f"## linespeed {' '.join(path)}\n"
    assert any(heading in page.read_text() for page in DOCS.glob("*.md")), path


def test_vin_check_by_a_plant_without_check_digit(run: Any, tmp_path: Path) -> None:
    text = DEFAULT_PLANT_PATH.read_text()
    plant_file = tmp_path / "eu.yaml"
    plant_file.write_text(
        text.replace("model_year: 2025}", "model_year: 2025, check_digit: none}", 1)
    )
    no_digit = "LSPA1S7E0SB000001"  # check digit would be 8
    old_year = "LSPA1S7E0RB000001"  # model year 2024
    assert run("vin", "check", no_digit).exit_code == 1
    result = run("vin", "check", "--plant", str(plant_file), no_digit, old_year)
    assert result.exit_code == 1
    assert "plant yz1 uses no check digit (vin.check_digit: none)" in result.stdout
    assert f"{no_digit}: valid" in result.stdout
    assert f"{old_year}: invalid (vin.plant_mismatch)" in result.stdout
    assert "position 10 (model year) is 'R' (2024)" in result.stdout
    body = run("vin", "check", "--json", "--plant", str(plant_file), no_digit).json()
    assert body["valid"] is True
    assert body["plant"] == {"plant": "yz1", "check_digit": "none", "model_year": 2025}


def test_vin_check_by_the_plant_in_the_database(run: Any, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'eu.db'}"
    text = DEFAULT_PLANT_PATH.read_text()
    plant_file = tmp_path / "eu.yaml"
    plant_file.write_text(text.replace("model_year: 2025}", "check_digit: none}", 1))
    assert run("init", "--plant", str(plant_file), "--db", db).exit_code == 0
    result = run("vin", "check", "--db", db, "LSPA1S7E0RB000001")
    assert result.exit_code == 0
    assert "plant yz1 uses no check digit" in result.stdout
