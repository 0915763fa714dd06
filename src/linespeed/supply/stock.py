"""`stock_report`: parts on hand, their lots, days of cover and run-out day, per part.

What is on hand comes from the stock ledger (docs/events.md, "Stock"): on hand = received
+ adjusted - consumed. Lots on hand are worked out first-in first-out: a lot loses what
was consumed naming it; what was consumed without a lot, and counts below the books, come
off the oldest lots first. Days of cover count on hand down by `demand_ahead`: the stored
plan's cars times the BOM, then the recent rate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final

from sqlalchemy import Connection, Engine, bindparam, func, select

from linespeed.plant.model import Plant
from linespeed.store.plants import current_plant
from linespeed.store.schema import stock_consumed, stock_moves, stock_unreceived, units
from linespeed.supply.demand import PartDemand, demand_ahead
from linespeed.supply.errors import StockInputError

MAX_UNRECEIVED_LISTED: Final = 20
"""Serialized pieces installed but never received listed per part (all are counted)."""


@dataclass(frozen=True)
class LotOnHand:
    """Pieces of one lot still on hand, and when the lot was (first) received."""

    lot: str
    on_hand: int
    received_at: datetime


@dataclass(frozen=True)
class UnreceivedPiece:
    """A serialized piece installed in a car but never received (`part.received`)."""

    serial: str
    vin: str


@dataclass(frozen=True)
class PartStock:
    """One part: its ledger, what is on hand, and how long that lasts."""

    part: str
    supplier: str | None
    """The supplier in the BOM (else of the newest receipt)."""
    received: int
    consumed: int
    adjusted: int
    """Counts less what the books said, summed (negative: pieces missing)."""
    on_hand: int
    """received + adjusted - consumed: negative when more was used than booked in."""
    lots: list[LotOnHand]
    """Lots with pieces on hand, oldest first (first in, first out)."""
    days_of_cover: float | None
    """on_hand / daily demand; None where there is no demand."""
    runs_out_on: date | None
    """The day (plant time zone) on hand runs out at that demand; None without demand."""
    unreceived: int = 0
    """Serialized pieces installed but never received (flagged; `supply: {strict: true}`
    refuses them)."""
    unreceived_serials: list[UnreceivedPiece] = field(default_factory=list)
    """The first `MAX_UNRECEIVED_LISTED` of them, by serial."""


@dataclass(frozen=True)
class StockReport:
    """Every part's stock, soonest run-out first (then parts without demand, by part)."""

    parts: list[PartStock]


def stock_report(
    engine: Engine, *, part: str | None = None, as_of: datetime | None = None
) -> StockReport:
    """Stock per part of the plant's BOMs (and any other part booked), or of `part` alone.

    Days of cover and the run-out day count from `as_of`, by default the time of the
    newest car started or completed or stock booked (now if there is none), so a replayed
    or simulated history reads as it was then. Raises StockInputError if `part` is in no
    BOM and was never booked, StoreError if the store holds no plant.
    """
    with engine.connect() as connection:
        plant = current_plant(connection)
        if as_of is None:
            as_of = _newest(connection) or datetime.now(UTC)
        return _report(connection, plant, part, as_of)


def _report(connection: Connection, plant: Plant, only: str | None, as_of: datetime) -> StockReport:
    suppliers = plant.part_suppliers
    moves = _moves(connection, only)
    consumed = _consumed(connection, only)
    parts = set(suppliers) | set(moves) | set(consumed)
    if only is not None:
        if only not in parts:
            raise StockInputError(
                f"part {only!r} is in no BOM of the plant and was never received or counted",
                parameter="part",
                value=only,
            )
        parts = {only}
    demand = demand_ahead(connection, plant, as_of)
    unreceived = _unreceived(connection, only)
    rows = [
        _part_stock(
            name,
            suppliers.get(name),
            moves.get(name, _Moves()),
            consumed.get(name, {}),
            demand.get(name),
            unreceived.get(name, (0, [])),
        )
        for name in parts
    ]
    rows.sort(
        key=lambda row: (
            row.days_of_cover is None,
            row.days_of_cover if row.days_of_cover is not None else 0.0,
            row.part,
        )
    )
    return StockReport(rows)


def _newest(connection: Connection) -> datetime | None:
    """The time of the newest car started or completed, or stock received or counted."""
    moments = [
        connection.execute(select(func.max(column))).scalar()
        for column in (units.c.started_at, units.c.completed_at, stock_moves.c.at)
    ]
    return max((moment for moment in moments if moment is not None), default=None)


@dataclass
class _Lot:
    received: int
    received_at: datetime


@dataclass
class _Moves:
    received: int = 0
    adjusted: int = 0
    newest_supplier: str | None = None
    lots: dict[str, _Lot] = field(default_factory=dict)
    """Lots received, in order of their first receipt."""


def _moves(connection: Connection, only: str | None) -> dict[str, _Moves]:
    """Per part: pieces received and adjusted, the newest receipt's supplier, and the lots
    received (summed in SQL: a part's history holds thousands of receipts)."""
    table = stock_moves.c
    part_filter = [] if only is None else [table.part == only]
    found: dict[str, _Moves] = defaultdict(_Moves)
    totals = select(table.part, table.kind, func.sum(table.quantity), func.max(table.seq))
    newest_seqs: list[int] = []
    for part, kind, quantity, newest in connection.execute(
        totals.where(*part_filter).group_by(table.part, table.kind)
    ):
        if kind == "adjusted":
            found[part].adjusted += int(quantity)
        else:
            found[part].received += int(quantity)
            newest_seqs.append(int(newest))
    newest_suppliers = select(table.part, table.supplier).where(table.seq.in_(newest_seqs))
    for part, supplier in connection.execute(newest_suppliers) if newest_seqs else ():
        found[part].newest_supplier = supplier
    lots = (
        select(table.part, table.lot, func.sum(table.quantity), func.min(table.at))
        .where(table.kind == "received", table.lot.is_not(None), *part_filter)
        .group_by(table.part, table.lot)
        .order_by(func.min(table.seq))
    )
    for part, lot, quantity, first_at in connection.execute(lots):
        found[part].lots[lot] = _Lot(int(quantity), first_at)
    return found


def _consumed(connection: Connection, only: str | None) -> dict[str, dict[str, int]]:
    table = stock_consumed.c
    query = select(table.part, table.lot, func.sum(table.quantity)).group_by(table.part, table.lot)
    if only is not None:
        query = query.where(table.part == only)
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for part, lot, quantity in connection.execute(query):
        found[part][lot] = int(quantity)
    return found


def _unreceived(
    connection: Connection, only: str | None
) -> dict[str, tuple[int, list[UnreceivedPiece]]]:
    """Per part: how many serialized pieces were installed but never received, and the first
    `MAX_UNRECEIVED_LISTED` of them by serial."""
    table = stock_unreceived.c
    counts = select(table.part, func.count()).group_by(table.part)
    if only is not None:
        counts = counts.where(table.part == only)
    first = (
        select(table.serial, table.vin)
        .where(table.part == bindparam("part"))
        .order_by(table.serial, table.vin)
        .limit(MAX_UNRECEIVED_LISTED)
    )
    return {
        part: (
            count,
            [
                UnreceivedPiece(serial, vin)
                for serial, vin in connection.execute(first, {"part": part})
            ],
        )
        for part, count in connection.execute(counts).all()
    }


def _part_stock(
    part: str,
    supplier: str | None,
    moves: _Moves,
    consumed: dict[str, int],
    demand: PartDemand | None,
    unreceived: tuple[int, list[UnreceivedPiece]],
) -> PartStock:
    used = sum(consumed.values())
    on_hand = moves.received + moves.adjusted - used
    days_of_cover, runs_out_on = (None, None) if demand is None else demand.cover(on_hand)
    return PartStock(
        part=part,
        supplier=supplier if supplier is not None else moves.newest_supplier,
        received=moves.received,
        consumed=used,
        adjusted=moves.adjusted,
        on_hand=on_hand,
        lots=_lots_on_hand(moves.lots, consumed, on_hand),
        days_of_cover=days_of_cover,
        runs_out_on=runs_out_on,
        unreceived=unreceived[0],
        unreceived_serials=unreceived[1],
    )


def _lots_on_hand(lots: dict[str, _Lot], consumed: dict[str, int], on_hand: int) -> list[LotOnHand]:
    """Lots on hand, oldest first: each lot less what was consumed naming it, then the
    oldest lots less whatever else left stock (consumed without a lot, counts below the
    books), so that the lots hold no more than is on hand."""
    remaining = [
        (name, max(lot.received - consumed.get(name, 0), 0), lot.received_at)
        for name, lot in sorted(lots.items(), key=lambda item: item[1].received_at)
    ]
    excess = sum(pieces for _, pieces, _ in remaining) - max(on_hand, 0)
    result: list[LotOnHand] = []
    for name, pieces, received_at in remaining:
        taken = min(pieces, max(excess, 0))
        excess -= taken
        if pieces - taken > 0:
            result.append(LotOnHand(name, pieces - taken, received_at))
    return result
