"""`linespeed stock`: the table, the JSON, and an unknown part named."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Engine

from linespeed.plant.model import Plant
from tests.conftest import ingest
from tests.ingest.line import event, start, through, vin


def _store(engine: Engine, plant: Plant) -> str:
    car = vin(plant, "s7", 1)
    outcomes = ingest(
        engine,
        [
            event("part.received", part="BRK-2201", quantity=40, supplier="sup-brk", lot="L1"),
            event("part.received", part="BRK-2201", quantity=60, supplier="sup-brk", lot="L2"),
            start(plant, "s7", 1),
            *through(plant, car, "ga-090"),
            event("part.installed", vin=car, station="ga-090", part="BRK-2201", lot="L1"),
            *through(plant, car, "ga-140", first=28),
            event("part.installed", vin=car, station="ga-140", part="BAT-1001", serial="B-404"),
            event("stock.counted", part="BRK-2202", quantity=12),
        ],
    )
    assert {o.status for o in outcomes} == {"accepted"}
    return car


def test_stock_json_lists_every_part_with_its_ledger(
    run: Any, engine: Engine, plant: Plant
) -> None:
    car = _store(engine, plant)

    result = run("stock", "--json")

    assert result.exit_code == 0, result.stderr
    parts = {row["part"]: row for row in result.json()["parts"]}
    assert set(parts) == {bom.part for model in plant.models for bom in model.parts}
    assert parts["BRK-2201"] == {
        "part": "BRK-2201",
        "supplier": "sup-brk",
        "received": 100,
        "consumed": 1,
        "adjusted": 0,
        "on_hand": 99,
        "lots": [
            {
                "lot": "L1",
                "on_hand": 39,
                "received_at": parts["BRK-2201"]["lots"][0]["received_at"],
            },
            {
                "lot": "L2",
                "on_hand": 60,
                "received_at": parts["BRK-2201"]["lots"][1]["received_at"],
            },
        ],
        "days_of_cover": None,
        "runs_out_on": None,
        "unreceived": 0,
        "unreceived_serials": [],
    }
    assert parts["BRK-2202"]["adjusted"] == 12
    assert parts["BAT-1001"]["on_hand"] == -1
    assert parts["BAT-1001"]["unreceived_serials"] == [{"serial": "B-404", "vin": car}]


def test_stock_prints_a_table_and_flags_pieces_never_received(
    run: Any, engine: Engine, plant: Plant
) -> None:
    car = _store(engine, plant)

    result = run("stock", "--part", "BAT-1001")

    assert result.exit_code == 0, result.stderr
    assert "BAT-1001" in result.stdout and "sup-bat" in result.stdout
    assert f"B-404 in {car}" in result.stdout
    one = run("stock", "--part", "BRK-2201")
    assert "L1 (39), L2 (60)" in one.stdout


def test_an_unknown_part_is_named(run: Any, engine: Engine) -> None:
    result = run("stock", "--part", "NOT-0000", "--json")

    assert result.exit_code == 1
    assert "NOT-0000" in result.stderr and "no BOM" in result.stderr
    assert msgspec.json.decode(result.stdout or "null") is None
