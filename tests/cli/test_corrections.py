"""`linespeed trace missing`, and genealogy corrections from the command line, audited as
the operating-system user."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from linespeed.access.audit import list_audit
from linespeed.plant.model import Plant
from linespeed.store.engine import open_store
from tests.ingest.line import event, full_line, start, through, vin


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def built(run: Any, plant: Plant, tmp_path: Path) -> tuple[str, str]:
    """Two cars completed: the first with a battery, the second without any serialized part."""
    run("init")
    first, second = vin(plant, "s7", 1), vin(plant, "s7", 2)
    battery = [s.id for s in plant.lines[0].stations].index("ga-140")
    rows = [
        start(plant, "s7", 1),
        *through(plant, first, "ga-140"),
        event("part.installed", vin=first, station="ga-140", part="BAT-1001", serial="B-1"),
        *through(plant, first, first=battery),
        event("unit.completed", vin=first),
        start(plant, "s7", 2),
        *full_line(plant, second),
        event("unit.shipped", vin=second),
    ]
    assert (
        run("ingest", "--json", str(_jsonl(tmp_path / "cars.jsonl", rows))).json()["rejected"] == 0
    )
    return first, second


def test_trace_missing_lists_completed_cars_without_required_serialized_parts(
    run: Any, plant: Plant, built: tuple[str, str]
) -> None:
    first, second = built
    serialized = [b.part for b in plant.models_by_id["s7"].parts if b.serialized]

    found = run("trace", "missing", "--json")

    assert found.exit_code == 0, found.stderr
    cars = found.json()["cars"]
    assert [car["vin"] for car in cars] == [first, second]
    assert [m["part"] for m in cars[0]["missing"]] == [p for p in serialized if p != "BAT-1001"]
    assert [m["part"] for m in cars[1]["missing"]] == serialized
    assert cars[1]["status"] == "shipped"
    assert set(cars[0]["missing"][0]) == {"part", "station", "supplier"}
    assert found.json()["count"] == 2
    table = run("trace", "missing")
    assert first in table.stdout and "BAT-1001" not in table.stdout.split(second)[0]
    assert "2 cars" in table.stdout


def test_cli_corrections_are_accepted_and_audited_as_the_os_user(
    run: Any, built: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = built
    monkeypatch.setenv("LOGNAME", "quality-anna")
    monkeypatch.setenv("USER", "quality-anna")
    fixes = _jsonl(
        tmp_path / "fix.jsonl",
        [
            event("part.removed", vin=first, part="BAT-1001", serial="B-1", reason="cell fault"),
            event(
                "part.installed",
                vin=first,
                station="ga-140",
                part="BAT-1001",
                serial="B-2",
                correction=True,
            ),
            event(
                "part.installed",
                vin=second,
                station="ga-140",
                part="BAT-1001",
                serial="B-1",
                correction=True,
            ),
        ],
    )

    assert run("ingest", "--json", str(fixes)).json()["accepted"] == 3

    entries = [e for e in list_audit(open_store()) if e.action == "events.correction"]
    assert len(entries) == 3
    assert all("os-user quality-anna" in e.detail and e.token_id is None for e in entries)
    genealogy = run("trace", "vin", first, "--json").json()
    assert [(p["serial"], p["correction"], p["removed_reason"]) for p in genealogy["parts"]] == [
        ("B-1", False, "cell fault"),
        ("B-2", True, None),
    ]
    shown = run("trace", "vin", first).stdout
    assert "cell fault" in shown and "correction" in shown
