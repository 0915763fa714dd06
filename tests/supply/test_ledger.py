"""The stock ledger: consumption by install, backflush and completed car; counts; rebuild."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Engine

from linespeed.ingest.core import Ingestor, RawEvent, batched
from linespeed.plant.model import Plant, with_tracking
from linespeed.store.plants import save_plant
from linespeed.store.rebuild import rebuild
from linespeed.supply.stock import PartStock, stock_report
from tests.conftest import ingest, snapshot
from tests.ingest.line import event, full_line, start, through, vin
from tests.supply.test_rules import received


def part(engine: Engine, name: str) -> PartStock:
    """The stock row of part `name`."""
    (row,) = stock_report(engine, part=name).parts
    return row


def _car_through_ga_150(plant: Plant, number: int, lot: str) -> list[dict[str, Any]]:
    """Car `number` (s7) to the end of ga-150, with its front calipers from `lot`."""
    car = vin(plant, "s7", number)
    return [
        start(plant, "s7", number),
        *through(plant, car, "ga-090"),
        event("part.installed", vin=car, station="ga-090", part="BRK-2201", lot=lot),
        *through(plant, car, "ga-160", first=28),
    ]


def test_an_install_consumes_its_bom_qty_from_its_lot(
    stock_engine: Engine, stock_plant: Plant
) -> None:
    ingest(stock_engine, [received("BRK-2201", 10, lot="L1"), received("BRK-2201", 10, lot="L2")])

    outcomes = ingest(stock_engine, _car_through_ga_150(stock_plant, 1, "L2"))

    assert {o.status for o in outcomes} == {"accepted"}
    row = part(stock_engine, "BRK-2201")
    assert (row.received, row.consumed, row.adjusted, row.on_hand) == (20, 2, 0, 18)
    assert [(lot.lot, lot.on_hand) for lot in row.lots] == [("L1", 10), ("L2", 8)]


def test_a_backflushed_part_is_consumed_when_its_station_completes(
    stock_engine: Engine, stock_plant: Plant
) -> None:
    car = vin(stock_plant, "s7", 1)
    ingest(stock_engine, [received("FST-9901", 1000, lot="F1")])
    ingest(stock_engine, [start(stock_plant, "s7", 1), *through(stock_plant, car, "ga-150")])
    assert part(stock_engine, "FST-9901").consumed == 0

    # an install of a backflushed part is genealogy only: it consumes nothing
    outcomes = ingest(
        stock_engine,
        [
            event("part.installed", vin=car, station="ga-150", part="FST-9901", lot="F1"),
            event("station.completed", vin=car, station="ga-150", result="ok"),
        ],
    )

    assert {o.status for o in outcomes} == {"accepted"}
    row = part(stock_engine, "FST-9901")
    assert (row.consumed, row.on_hand, row.lots[0].on_hand) == (24, 976, 976)


def test_a_car_of_a_line_tracked_by_unit_consumes_its_whole_bom_when_completed(
    stock_engine: Engine, stock_plant: Plant
) -> None:
    units_plant = with_tracking(stock_plant, "units")
    save_plant(stock_engine, units_plant, "units.yaml")
    car = vin(units_plant, "x9", 1)

    outcomes = ingest(
        stock_engine,
        [start(units_plant, "x9", 1), event("unit.completed", vin=car)],
    )

    assert {o.status for o in outcomes} == {"accepted"}
    consumed = {row.part: row.consumed for row in stock_report(stock_engine).parts}
    x9 = units_plant.models_by_id["x9"]
    assert {name: used for name, used in consumed.items() if used} == {
        bom.part: bom.qty for bom in x9.parts
    }
    assert consumed["FST-9901"] == 24
    assert consumed["BAT-1002"] == 1


def test_a_count_books_the_difference_as_an_adjustment(
    stock_engine: Engine, stock_plant: Plant
) -> None:
    ingest(stock_engine, [received("BRK-2201", 100, lot="L1")])
    ingest(stock_engine, _car_through_ga_150(stock_plant, 1, "L1"))

    first = ingest(stock_engine, [event("stock.counted", part="BRK-2201", quantity=90)])
    row = part(stock_engine, "BRK-2201")
    assert [o.status for o in first] == ["accepted"]
    assert (row.received, row.consumed, row.adjusted, row.on_hand) == (100, 2, -8, 90)
    assert [(lot.lot, lot.on_hand) for lot in row.lots] == [("L1", 90)]

    # two counts in one batch, a receipt between them
    ingest(
        stock_engine,
        [
            event("stock.counted", part="BRK-2201", quantity=95),
            received("BRK-2201", 10, lot="L2"),
            event("stock.counted", part="BRK-2201", quantity=100),
            event("stock.counted", part="BAT-1001", quantity=0),
        ],
    )
    row = part(stock_engine, "BRK-2201")
    assert (row.received, row.adjusted, row.on_hand) == (110, -8 + 5 - 5, 100)
    assert [(lot.lot, lot.on_hand) for lot in row.lots] == [("L1", 90), ("L2", 10)]
    assert part(stock_engine, "BAT-1001").on_hand == 0


def test_rebuild_gives_the_same_stock(stock_engine: Engine, stock_plant: Plant) -> None:
    cars = [_car_through_ga_150(stock_plant, n, "L1" if n % 2 else "L2") for n in range(1, 6)]
    car = vin(stock_plant, "s7", 6)
    stream = [
        received("BRK-2201", 6, lot="L1"),
        received("FST-9901", 500),
        received("BAT-1001", 2, serials=["B-1", "B-2"]),
        *cars[0],
        *cars[1],
        event("stock.counted", part="BRK-2201", quantity=3),
        received("BRK-2201", 6, lot="L2"),
        *cars[2],
        *cars[3],
        event("stock.counted", part="FST-9901", quantity=400),
        *cars[4],
        start(stock_plant, "s7", 6),
        *through(stock_plant, car, "ga-140"),
        event("part.installed", vin=car, station="ga-140", part="BAT-1001", serial="B-9"),
    ]
    ingestor = Ingestor(stock_engine)
    items = [RawEvent(msgspec.json.encode(e), f"t:{n}") for n, e in enumerate(stream)]
    outcomes = [o for batch in batched(items, 7) for o in ingestor.ingest(batch)]
    assert {o.status for o in outcomes} == {"accepted"}, [o for o in outcomes if o.reason]
    incremental, stock = snapshot(stock_engine), stock_report(stock_engine)

    rebuild(stock_engine)

    assert snapshot(stock_engine) == incremental
    assert stock_report(stock_engine) == stock
    brakes = part(stock_engine, "BRK-2201")
    assert (brakes.received, brakes.consumed, brakes.adjusted) == (12, 10, 1)
    assert part(stock_engine, "BAT-1001").unreceived == 1


def test_days_of_cover_at_the_rate_of_the_last_seven_days(
    stock_engine: Engine, stock_plant: Plant
) -> None:
    # one s7 a day in the last seven days (and one ten days ago, before them)
    now = datetime(2025, 6, 30, 4, 0, tzinfo=UTC)
    stream: list[dict[str, Any]] = []
    for number, days_ago in enumerate([10, 6, 5, 4, 3, 2, 1, 0], start=1):
        car = vin(stock_plant, "s7", number)
        events = [start(stock_plant, "s7", number), *full_line(stock_plant, car)]
        for offset, each in enumerate(events):
            each["ts"] = (now - timedelta(days=days_ago) + timedelta(seconds=offset)).isoformat()
        stream += events
    receipts = [
        received("BRK-2201", 50, lot="L1"),
        received("FST-9901", 1000, lot="F1"),
        received("BAT-1001", 3, serials=["B-1", "B-2", "B-3"]),
    ]
    for each in receipts:
        each["ts"] = (now + timedelta(hours=1)).isoformat()
    outcomes = ingest(stock_engine, [*receipts, *stream])
    assert {o.status for o in outcomes} == {"accepted"}, [o for o in outcomes if o.reason]

    report = stock_report(stock_engine)

    rows = {row.part: row for row in report.parts}
    today = date(2025, 6, 30)  # 13:00 in Asia/Shanghai
    # 2 front calipers a day (qty 2), installed by no event here: 50 last 25 days
    assert (rows["BRK-2201"].on_hand, rows["BRK-2201"].days_of_cover) == (50, 25.0)
    assert rows["BRK-2201"].runs_out_on == today + timedelta(days=25)
    # 24 fasteners a day, backflushed at ga-150 for each of the 8 cars
    assert (rows["FST-9901"].consumed, rows["FST-9901"].on_hand) == (192, 808)
    assert rows["FST-9901"].days_of_cover == round(808 / 24, 2)
    # 33.67 days after 13:00 on 30 June is 05:00 on 3 August
    assert rows["FST-9901"].runs_out_on == date(2025, 8, 3)
    assert (rows["BAT-1001"].days_of_cover, rows["BAT-1001"].runs_out_on) == (3.0, date(2025, 7, 3))
    # on hand below zero: no cover, out today
    assert (rows["WHL-7101"].on_hand, rows["WHL-7101"].days_of_cover) == (0, 0.0)
    assert rows["WHL-7101"].runs_out_on == today
    assert rows["BAT-1002"].days_of_cover is None  # no x9 was built
    covers = [row.days_of_cover for row in report.parts]
    known = [cover for cover in covers if cover is not None]
    assert known == sorted(known) and covers[: len(known)] == known  # soonest first
    assert report.parts[-1].days_of_cover is None
