"""Genealogy and recall on a simulated line: every answer checked against the event stream."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from linespeed.errors import LinespeedError, NotFoundError, VinError
from linespeed.plant.model import Plant, with_tracking
from linespeed.plant.vin import nth_vin
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
from linespeed.trace import CAR_STATUSES, TraceInputError, part_recall, vin_trace
from tests.conftest import ingest, make_store
from tests.plans import full_scans


def _status_of(stream: list[dict[str, Any]]) -> dict[str, str]:
    status: dict[str, str] = {}
    for event in stream:
        kind, vin = event["kind"], event.get("vin", "")
        if kind == "unit.started":
            status[vin] = "in_production"
        elif kind in ("unit.completed", "unit.shipped", "unit.scrapped"):
            status[vin] = {"unit.completed": "completed", "unit.shipped": "shipped"}.get(
                kind, "scrapped"
            )
    return status


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.slow
def test_vin_trace_lists_every_installed_part_in_order(
    line_store: Engine, stream: list[dict[str, Any]]
) -> None:
    vin = next(e["vin"] for e in stream if e["kind"] == "unit.completed")
    expected = [
        (e["station"], e["part"], e.get("serial"), e.get("lot"), e["supplier"], _when(e["ts"]))
        for e in stream
        if e["kind"] == "part.installed" and e["vin"] == vin
    ]
    trace = vin_trace(line_store, vin)
    got = [(p.station, p.part, p.serial, p.lot, p.supplier, p.installed_at) for p in trace.parts]
    assert got == expected
    status = _status_of(stream)[vin]
    assert (trace.vin, trace.status, trace.timezone) == (vin, status, "Asia/Shanghai")
    assert not any(p.moved or p.other_cars for p in trace.parts)


def test_lot_recall_finds_exactly_the_cars_of_the_lot(
    line_store: Engine, stream: list[dict[str, Any]]
) -> None:
    installs = [e for e in stream if e["kind"] == "part.installed" and "lot" in e]
    part, lot = Counter((e["part"], e["lot"]) for e in installs).most_common(1)[0][0]
    holders = [e["vin"] for e in installs if (e["part"], e["lot"]) == (part, lot)]
    status = _status_of(stream)

    recall = part_recall(line_store, part, lots=[lot])

    assert [car.vin for car in recall.cars] == holders  # build order
    assert [car.status for car in recall.cars] == [status[vin] for vin in holders]
    assert recall.counts == {
        name: Counter(status[v] for v in holders)[name] for name in CAR_STATUSES
    }
    assert set(recall.counts.values()) != {0}
    assert {car.lot for car in recall.cars} == {lot}

    in_plant = part_recall(line_store, part, lots=[lot], status="in-plant")
    assert [car.vin for car in in_plant.cars] == [
        vin for vin in holders if status[vin] in ("in_production", "completed")
    ]
    shipped = part_recall(line_store, part, lots=[lot], status="shipped")
    assert shipped.counts == {**dict.fromkeys(CAR_STATUSES, 0), "shipped": recall.counts["shipped"]}


def test_time_window_bounds_the_installation(
    line_store: Engine, stream: list[dict[str, Any]]
) -> None:
    installs = [e for e in stream if e["kind"] == "part.installed" and "lot" in e]
    part, lot = installs[0]["part"], installs[0]["lot"]
    times = sorted(_when(e["ts"]) for e in installs if (e["part"], e["lot"]) == (part, lot))
    middle = times[len(times) // 2]
    recall = part_recall(line_store, part, lots=[lot], installed_from=middle)
    assert [car.installed_at for car in recall.cars] == [t for t in times if t >= middle]
    later = times[-1] + timedelta(days=1)
    empty = part_recall(line_store, part, lots=[lot], installed_from=later)
    assert (empty.cars, empty.counts) == ([], dict.fromkeys(CAR_STATUSES, 0))


def test_serial_and_supplier_recall(line_store: Engine, stream: list[dict[str, Any]]) -> None:
    piece = next(e for e in stream if e["kind"] == "part.installed" and "serial" in e)
    recall = part_recall(line_store, piece["part"], serial=piece["serial"])
    assert [(car.vin, car.serial) for car in recall.cars] == [(piece["vin"], piece["serial"])]
    supplier = vin_trace(line_store, piece["vin"]).parts[0]
    assert supplier.supplier is not None
    by_supplier = part_recall(line_store, supplier.part, supplier=supplier.supplier)
    assert len(by_supplier.cars) == sum(
        1 for e in stream if e["kind"] == "part.installed" and e["part"] == supplier.part
    )


def test_bad_questions_are_named(line_store: Engine, stream: list[dict[str, Any]]) -> None:
    lot_part = next(e for e in stream if e["kind"] == "part.installed" and "lot" in e)["part"]
    cases: list[tuple[Any, str]] = [
        (lambda: part_recall(line_store, "NOPE-1", lots=["x"]), "part 'NOPE-1' is in no bill"),
        (
            lambda: part_recall(line_store, lot_part, lots=["L-NEVER"]),
            f"lot 'L-NEVER' of part {lot_part!r} was never recorded",
        ),
        (lambda: part_recall(line_store, lot_part), "give lot, serial or supplier"),
        (
            lambda: part_recall(
                line_store,
                lot_part,
                lots=["x"],
                installed_from=datetime(2025, 2, 1, tzinfo=UTC),
                installed_to=datetime(2025, 1, 1, tzinfo=UTC),
            ),
            "is before from",
        ),
        (
            lambda: part_recall(
                line_store, lot_part, lots=["x"], installed_from=datetime(2025, 2, 1)
            ),
            "has no UTC offset",
        ),
    ]
    for question, message in cases:
        with pytest.raises(LinespeedError, match=message) as caught:
            question()
        assert caught.value.code == "trace.input"
    with pytest.raises(VinError):
        vin_trace(line_store, "LSPA1S7E0SB00000")
    with pytest.raises(NotFoundError, match="was started"):
        vin_trace(line_store, nth_vin(plant_of(stream), "s7", 999_999))


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59+00:00",
        "1969-12-31T23:59:59+00:00",
        "2200-01-01T00:00:01+00:00",
    ],
)
@pytest.mark.parametrize(("option", "name"), [("from", "installed_from"), ("to", "installed_to")])
def test_times_before_1970_or_after_2200_are_refused(
    line_store: Engine, stream: list[dict[str, Any]], text: str, option: str, name: str
) -> None:
    lot_part = next(e for e in stream if e["kind"] == "part.installed" and "lot" in e)["part"]
    question: dict[str, Any] = {name: datetime.fromisoformat(text)}
    with pytest.raises(LinespeedError) as caught:
        part_recall(line_store, lot_part, lots=["x"], **question)
    assert caught.value.code == "trace.input"
    assert str(caught.value) == f"{option} {text} is outside 1970-01-01 to 2200-01-01 UTC"
    assert isinstance(caught.value, TraceInputError)
    assert (caught.value.parameter, caught.value.value) == (option, question[name])


def plant_of(stream: list[dict[str, Any]]) -> Plant:
    """The plant the simulated stream runs on."""
    del stream
    return load_scenario(DEFAULT_SCENARIO_PATH).plant


def test_a_serial_moved_between_cars_shows_on_both(db_url: str, plant: Plant) -> None:
    # Tracked by units, so that parts can be installed without reporting every station.
    store = make_store(db_url, with_tracking(plant, "units"))
    at = datetime(2025, 6, 30, 8, 0, tzinfo=UTC)
    first, second, bare = (nth_vin(plant, "s7", n) for n in (1, 2, 3))

    def event(n: int, kind: str, vin: str, **fields: Any) -> dict[str, Any]:
        ts = (at + timedelta(minutes=n)).isoformat()
        return {"id": f"m-{n}", "ts": ts, "kind": kind, "line": "l1", "vin": vin, **fields}

    battery = {"station": "ga-140", "part": "BAT-1001"}
    outcomes = ingest(
        store,
        [
            event(1, "unit.started", first, model="s7", color="pearl-white"),
            event(2, "unit.started", second, model="s7", color="pearl-white"),
            event(3, "part.installed", first, serial="BAT-A", **battery),
            event(4, "part.installed", first, serial="BAT-B", **battery),
            event(5, "part.installed", second, serial="BAT-A", **battery),
            event(6, "unit.started", bare, model="s7", color="olive-green"),
        ],
    )
    assert [o.status for o in outcomes] == ["accepted"] * 6, outcomes
    nothing_yet = vin_trace(store, bare)
    assert (nothing_yet.vin, nothing_yet.color, nothing_yet.parts) == (bare, "olive-green", [])
    first_trace = vin_trace(store, first)
    moved = [(p.serial, p.moved, [o.vin for o in p.other_cars]) for p in first_trace.parts]
    assert moved == [("BAT-A", True, [second]), ("BAT-B", False, [])]
    assert first_trace.parts[0].removed_at == at + timedelta(minutes=4)
    (piece,) = vin_trace(store, second).parts
    assert (piece.serial, piece.moved, [o.vin for o in piece.other_cars]) == (
        "BAT-A",
        True,
        [first],
    )
    recall = part_recall(store, "BAT-1001", serial="BAT-A")
    assert [car.vin for car in recall.cars] == [second]  # the first car no longer holds it
    store.dispose()


def test_no_trace_query_scans_a_whole_table(
    line_store: Engine, stream: list[dict[str, Any]]
) -> None:
    lot_piece = next(e for e in stream if e["kind"] == "part.installed" and "lot" in e)
    serial_piece = next(e for e in stream if e["kind"] == "part.installed" and "serial" in e)
    supplier = vin_trace(line_store, serial_piece["vin"]).parts[0]
    questions = {
        "vin": lambda: vin_trace(line_store, serial_piece["vin"]),
        "lot": lambda: part_recall(line_store, lot_piece["part"], lots=[lot_piece["lot"]]),
        "lot in plant": lambda: part_recall(
            line_store, lot_piece["part"], lots=[lot_piece["lot"]], status="in-plant"
        ),
        "serial": lambda: part_recall(
            line_store, serial_piece["part"], serial=serial_piece["serial"]
        ),
        "supplier": lambda: part_recall(line_store, supplier.part, supplier=supplier.supplier),
    }
    for name, question in questions.items():
        assert full_scans(line_store, question) == [], name
