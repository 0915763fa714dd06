"""`linespeed trace vin` and `linespeed trace part`: output, recall file, exit codes."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from linespeed.plant.model import Plant
from tests.conftest import make_store
from tests.trace.conftest import ingest_stream


@pytest.mark.slow
def test_trace_commands(
    run: Any, db_url: str, plant: Plant, stream: list[dict[str, Any]], tmp_path: Path
) -> None:
    store = make_store(db_url, plant, simulation=True)
    ingest_stream(store, stream)
    store.dispose()
    installs = [e for e in stream if e["kind"] == "part.installed" and "lot" in e]
    part, lot = Counter((e["part"], e["lot"]) for e in installs).most_common(1)[0][0]
    holders = [e["vin"] for e in installs if (e["part"], e["lot"]) == (part, lot)]

    recall = run("trace", "part", part, "--lot", lot, "--json")
    assert recall.exit_code == 0, recall.stderr
    found = recall.json()
    assert set(found) == {"cars", "counts", "plants"}
    assert found["plants"] == [plant.plant]
    assert [car["vin"] for car in found["cars"]] == holders
    assert {car["plant"] for car in found["cars"]} == {plant.plant}
    assert set(found["counts"]) == {"in_production", "completed", "shipped", "scrapped"}
    assert sum(found["counts"].values()) == len(holders)

    path = tmp_path / "recall.csv"
    table = run("trace", "part", part, "--lot", lot, "--csv", str(path))
    assert table.exit_code == 0, table.stderr
    assert f"in {len(holders)} cars" in table.stdout
    with path.open() as stream_file:
        rows = list(csv.DictReader(stream_file))
    assert [row["vin"] for row in rows] == holders
    assert {"vin", "model", "color", "status", "completed_at", "shipped_at", "destination"} <= set(
        rows[0]
    )
    shipped = [row for row in rows if row["status"] == "shipped"]
    assert shipped and all(row["shipped_at"] and row["completed_at"] for row in shipped)

    vin = holders[0]
    genealogy = run("trace", "vin", vin, "--json").json()
    mine = [e for e in stream if e["kind"] == "part.installed" and e["vin"] == vin]
    assert [(p["part"], p["serial"], p["lot"]) for p in genealogy["parts"]] == [
        (e["part"], e.get("serial"), e.get("lot")) for e in mine
    ]
    assert lot in run("trace", "vin", vin).stdout

    empty = run("trace", "part", part, "--lot", lot, "--from", "2099-01-01T00:00+00:00", "--json")
    assert (empty.exit_code, empty.json()["cars"]) == (0, [])
    assert set(empty.json()["counts"].values()) == {0}

    for args, message in [
        (("trace", "part", "NOPE-9", "--lot", "x"), "part 'NOPE-9' is in no bill of materials"),
        (("trace", "part", part, "--lot", "never"), "lot 'never' of part"),
        (("trace", "vin", "NOT-A-VIN"), "NOT-A-VIN"),
        (
            (
                "trace",
                "part",
                part,
                "--lot",
                lot,
                "--from",
                "2025-02-01T00:00Z",
                "--to",
                "2025-01-01T00:00Z",
            ),
            "is before --from",
        ),
        (("trace", "part", part, "--lot", lot, "--from", "yesterday"), "'yesterday' is not"),
    ]:
        refused = run(*args)
        assert (refused.exit_code, message in refused.stderr) == (1, True), (args, refused)
