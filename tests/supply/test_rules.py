"""Goods receipts and counts: each bad one refused with its reason, nothing else changed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from linespeed.plant.model import Plant
from linespeed.supply.stock import stock_report
from tests.conftest import ingest, snapshot
from tests.ingest.line import event, start, through, vin


def received(part: str, quantity: int, **fields: Any) -> dict[str, Any]:
    """A `part.received` event from the part's usual supplier."""
    supplier = fields.pop("supplier", "sup-x")
    return event("part.received", part=part, quantity=quantity, supplier=supplier, **fields)


def on_hand(engine: Engine, part: str) -> int:
    """What `stock` says is on hand of `part`."""
    return stock_report(engine, part=part).parts[0].on_hand


GOOD = [
    received("BRK-2201", 100, lot="L1"),
    received("BAT-1001", 2, serials=["B-1", "B-2"]),
]

BAD: list[tuple[str, dict[str, Any]]] = [
    ("stock.quantity", received("BRK-2201", 0, lot="L9")),
    ("stock.quantity", received("BRK-2201", -5, lot="L9")),
    ("stock.quantity", received("BRK-2201", 1_000_000_001, lot="L9")),
    ("stock.quantity", event("stock.counted", part="BRK-2201", quantity=-1)),
    ("part.unknown", received("NOT-0000", 5, lot="L9")),
    ("part.unknown", event("stock.counted", part="NOT-0000", quantity=5)),
    ("stock.serial_received", received("BAT-1001", 1, serials=["B-1"])),
    ("stock.serial_received", received("BAT-1001", 2, serials=["B-7", "B-7"])),
    ("stock.serials_count", received("BAT-1001", 3, serials=["B-3", "B-4"])),
    ("stock.serials_missing", received("BAT-1001", 3)),
    ("stock.serials_not_allowed", received("BRK-2201", 1, serials=["S-1"])),
    ("field.type", event("part.received", part="BRK-2201", quantity=1.5, supplier="s")),
    ("field.type", event("part.received", part="BRK-2201", quantity=True, supplier="s")),
    ("field.missing", event("part.received", part="BRK-2201", quantity=1)),
    ("field.unknown", event("stock.counted", part="BRK-2201", quantity=1, lot="L1")),
    ("line.unknown", received("BRK-2201", 1, lot="L1", line="l9")),
]


@pytest.mark.parametrize(
    ("reason", "bad"), BAD, ids=[f"{reason}-{number}" for number, (reason, _) in enumerate(BAD)]
)
def test_a_bad_receipt_or_count_is_refused_alone(
    stock_engine: Engine, reason: str, bad: dict[str, Any]
) -> None:
    assert {o.status for o in ingest(stock_engine, GOOD)} == {"accepted"}
    before = snapshot(stock_engine, skip=("dead_letters",))

    outcomes = ingest(stock_engine, [bad])

    assert [(o.status, o.reason) for o in outcomes] == [("rejected", reason)]
    assert snapshot(stock_engine, skip=("dead_letters",)) == before


def test_events_beside_a_refused_receipt_are_stored(stock_engine: Engine) -> None:
    outcomes = ingest(
        stock_engine,
        [
            received("BRK-2201", 10, lot="L1"),
            received("BRK-2201", 0, lot="L2"),
            received("NOT-0000", 10, lot="L3"),
            received("BRK-2201", 5, lot="L4"),
        ],
    )

    assert [o.reason for o in outcomes] == [None, "stock.quantity", "part.unknown", None]
    assert on_hand(stock_engine, "BRK-2201") == 15


def test_a_receipt_delivered_again_is_a_duplicate_and_counted_once(stock_engine: Engine) -> None:
    receipt = received("BAT-1001", 2, serials=["B-1", "B-2"], lot="pack-lot-7")
    first = ingest(stock_engine, [receipt, receipt])
    again = ingest(stock_engine, [receipt])
    changed = ingest(stock_engine, [{**receipt, "quantity": 1, "serials": ["B-1"]}])

    assert [o.status for o in first] == ["accepted", "duplicate"]
    assert [o.status for o in again] == ["duplicate"]
    assert [o.reason for o in changed] == ["id.conflict"]
    row = stock_report(stock_engine, part="BAT-1001").parts[0]
    assert (row.received, row.on_hand) == (2, 2)


def test_a_serial_received_in_the_same_batch_twice_is_refused_the_second_time(
    stock_engine: Engine,
) -> None:
    outcomes = ingest(
        stock_engine,
        [received("BAT-1001", 1, serials=["B-1"]), received("BAT-1001", 1, serials=["B-1"])],
    )

    assert [o.reason for o in outcomes] == [None, "stock.serial_received"]


def test_a_lot_on_a_serialized_receipt_is_kept_and_no_lot_is_needed_for_a_lot_part(
    stock_engine: Engine,
) -> None:
    outcomes = ingest(
        stock_engine,
        [
            received("BAT-1001", 1, serials=["B-1"], lot="pack-lot-7"),
            received("BRK-2201", 4),
        ],
    )

    assert {o.status for o in outcomes} == {"accepted"}
    assert on_hand(stock_engine, "BRK-2201") == 4
    assert stock_report(stock_engine, part="BRK-2201").parts[0].lots == []


def test_a_piece_never_received_is_accepted_and_flagged(
    stock_engine: Engine, stock_plant: Plant
) -> None:
    car = vin(stock_plant, "s7", 1)
    events = [
        start(stock_plant, "s7", 1),
        *through(stock_plant, car, "ga-140"),
        event("part.installed", vin=car, station="ga-140", part="BAT-1001", serial="B-404"),
    ]

    assert {o.status for o in ingest(stock_engine, events)} == {"accepted"}

    row = stock_report(stock_engine, part="BAT-1001").parts[0]
    assert (row.received, row.consumed, row.on_hand, row.unreceived) == (0, 1, -1, 1)
    assert [(p.serial, p.vin) for p in row.unreceived_serials] == [("B-404", car)]
    # received late: the flag goes, the books balance
    ingest(stock_engine, [received("BAT-1001", 1, serials=["B-404"])])
    row = stock_report(stock_engine, part="BAT-1001").parts[0]
    assert (row.on_hand, row.unreceived, row.unreceived_serials) == (0, 0, [])


def test_a_strict_supply_refuses_a_piece_never_received(strict_engine: Engine) -> None:
    plant_events = _to_ga_140(strict_engine)
    install = event(
        "part.installed",
        vin=plant_events,
        station="ga-140",
        part="BAT-1001",
        serial="B-404",
    )
    before = snapshot(strict_engine, skip=("dead_letters",))

    assert [o.reason for o in ingest(strict_engine, [install])] == ["part.not_received"]
    assert snapshot(strict_engine, skip=("dead_letters",)) == before

    # received in the same batch, before the install: accepted
    outcomes = ingest(
        strict_engine,
        [received("BAT-1001", 1, serials=["B-404"]), {**install, "id": install["id"] + "-2"}],
    )
    assert [o.status for o in outcomes] == ["accepted", "accepted"]
    assert on_hand(strict_engine, "BAT-1001") == 0


def _to_ga_140(engine: Engine) -> str:
    """Start car 1 and bring it to ga-140 on the engine's plant; returns its VIN."""
    from linespeed.store.plants import current_plant

    with engine.connect() as connection:
        plant = current_plant(connection)
    car = vin(plant, "s7", 1)
    outcomes = ingest(engine, [start(plant, "s7", 1), *through(plant, car, "ga-140")])
    assert {o.status for o in outcomes} == {"accepted"}
    return car
