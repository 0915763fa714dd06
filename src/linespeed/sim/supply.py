"""Parts supply of a simulated line: lots shipped by capacity-limited suppliers, and when each
car's parts are on hand at the station that installs them.

Supply is planned, not drawn: no random stream is used, so adding a `supply:` section leaves
every other draw of a run as it was. For each part the plant calls off whole lots, each
`lead_time_days + cover_days` before the planned release of the first car that needs a
piece of it; the supplier makes lots to order, one after the other, starting each when it
is called off (or when the one before is done) at the capacity of the moment (unused
capacity is lost, not banked), and each lot reaches the plant `lead_time_days` after it is
made. So a lot arrives `cover_days` early, less its making time, unless the supplier is
behind. Opening stock is received in whole lots at time 0.

Pieces are numbered per part in car start order (the serials and lots the emitted
`part.installed` events carry): lot k holds pieces k·L + 1 ... (k + 1)·L, so a car's parts
are on hand when the lot holding its last piece has arrived. That time enters the engine as
a release time in S at the installing station (`engine.line_times(part_ready_s=...)`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from linespeed.plant.model import Line, Plant
from linespeed.sim.scenario import CapacityStep, PartSupply, Scenario, Shortage

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_WEEK_S = 7 * 86_400.0
_UNLIMITED_PER_S = 1e9 / _WEEK_S
"""An unlimited supplier: a billion pieces a week, so a lot takes well under a millisecond."""


@dataclass(frozen=True, eq=False)
class PartLots:
    """The lots of one part the plant receives, in order: lot k arrives at `arrival_s[k]`."""

    part: str
    supplier: str
    serialized: bool
    lot_size: int
    station: int
    """The first station of the line that installs the part."""
    arrival_s: FloatArray
    """Seconds from time 0 (>= 0, non-decreasing)."""


@dataclass(frozen=True, eq=False)
class SupplyPlan:
    """Every part's lots, and for stations where supply may hold cars: when each car may start.

    `ready_s[i]` is, per car, the moment station i has the car's parts on hand (0 if it
    needs none there); `short_part[i]` names, per car, the part that came last (an index
    into `parts`). Only stations with a part that arrives after some car's planned release
    are listed: elsewhere supply never holds a car.
    """

    parts: tuple[PartLots, ...]
    ready_s: dict[int, FloatArray]
    short_part: dict[int, IntArray]


def translated(scenario: Scenario, part: str) -> bool:
    """Whether `part` is supplied as the older `shortages:` form says: just in time, piece by piece.

    So it is, when it has a shortage and no `supply.parts` entry of its own.
    """
    return part not in scenario.supply.parts and any(s.part == part for s in scenario.shortages)


def lot_size(scenario: Scenario, part: str) -> int:
    """Pieces per lot of `part`: its `supply` lot size, else its `lots` size, else the default.

    A part supplied as `shortages:` says comes one piece per lot (see `translated`).
    """
    setting = scenario.supply.parts.get(part)
    if setting is not None and setting.lot_size is not None:
        return setting.lot_size
    if translated(scenario, part):
        return 1
    return scenario.lots.parts.get(part, scenario.lots.default)


def pieces_per_car(plant: Plant, line: Line, part: str) -> IntArray:
    """Per model, the pieces of `part` one car takes on `line` (the BOM's qty, default 1)."""
    stations = {station.id for station in line.stations}
    return np.array(
        [
            sum(
                int(getattr(bom, "qty", 1))
                for bom in model.parts
                if bom.part == part and bom.station in stations
            )
            for model in plant.models
        ],
        dtype=np.int64,
    )


def plan_supply(
    plant: Plant,
    line: Line,
    scenario: Scenario,
    planned_release_s: FloatArray,
    model: IntArray,
    cars: int,
) -> SupplyPlan:
    """The lots of every part installed on `line` and when each of the first `cars` cars'
    parts are on hand, planned against the planned release times and models of cars in
    start order (at least `cars` of them: the plan beyond the run decides lots it receives).
    """
    index = {station.id: i for i, station in enumerate(line.stations)}
    first: dict[str, tuple[int, str, bool]] = {}  # part -> station, supplier, serialized
    for spec in plant.models:
        for bom in spec.parts:
            if bom.station not in index:
                continue
            station = index[bom.station]
            known = first.get(bom.part)
            if known is None or station < known[0]:
                first[bom.part] = (station, bom.supplier or "unknown", bom.serialized)
    parts: list[PartLots] = []
    ready_s: dict[int, FloatArray] = {}
    short_part: dict[int, IntArray] = {}
    demands: dict[tuple[int, ...], tuple[IntArray, IntArray]] = {}  # most parts share one
    for part, (station, bom_supplier, serialized) in first.items():
        per_model = pieces_per_car(plant, line, part)
        key = tuple(per_model.tolist())
        if key not in demands:
            needed = per_model[model]
            demands[key] = needed, np.cumsum(needed)
        needed, cumulative = demands[key]
        size = lot_size(scenario, part)
        lots, first_car = _part_lots(scenario, part, size, cumulative, planned_release_s)
        setting = scenario.supply.parts.get(part)
        supplier = (setting.supplier if setting else None) or bom_supplier
        number = len(parts)
        parts.append(PartLots(part, supplier, serialized, size, station, lots))
        if not len(lots) or np.all(lots <= planned_release_s[first_car]):
            continue  # never holds a car: each lot is there when the first car needing it starts
        last_lot = np.maximum((cumulative[:cars] + size - 1) // size - 1, 0)
        ready = np.where(needed[:cars] > 0, lots[last_lot], 0.0)
        if not np.any(ready > planned_release_s[:cars]):
            continue
        if station in ready_s:
            later = ready > ready_s[station]
            ready_s[station] = np.where(later, ready, ready_s[station])
            short_part[station] = np.where(later, number, short_part[station])
        else:
            ready_s[station] = ready
            short_part[station] = np.full(len(ready), number, dtype=np.int64)
    return SupplyPlan(tuple(parts), ready_s, short_part)


def _part_lots(
    scenario: Scenario,
    part: str,
    size: int,
    cumulative: IntArray,
    planned_release_s: FloatArray,
) -> tuple[FloatArray, IntArray]:
    """(arrival of each lot, the first car needing a piece of it) for one part.

    `cumulative` holds, per car in start order, the pieces needed up to and including it.
    """
    default = scenario.supply.default
    setting = scenario.supply.parts.get(part)
    shortages = [s for s in scenario.shortages if s.part == part]
    given = setting or PartSupply()
    lead_s = 86_400.0 * _either(given.lead_time_days, default.lead_time_days)
    cover_s = 86_400.0 * _either(given.cover_days, default.cover_days)
    opening = int(_either(given.opening_stock, default.opening_stock))
    steps = (setting.capacity if setting else None) or default.capacity
    if translated(scenario, part):
        lead_s = cover_s = 0.0  # the older `shortages:` form: just in time
    total = int(cumulative[-1]) if len(cumulative) else 0
    opening_lots = math.ceil(opening / size)
    lots = max(opening_lots, math.ceil(total / size))
    first_car = np.searchsorted(cumulative, np.arange(lots) * size + 1, side="left")
    first_car = np.minimum(first_car, len(cumulative) - 1)  # opening lots beyond any need
    want_s = planned_release_s[first_car[opening_lots:]] - cover_s - lead_s  # made by then
    arrival = np.zeros(lots, dtype=np.float64)
    if len(want_s):
        knots_s, made = _capacity_curve(scenario, steps, shortages, float(want_s[0]) - 86_400.0)
        # lot k is started when called off (W_k) or when lot k-1 is done, whichever is later,
        # and made at capacity: done at Y_k = max(Y_{k-1}, cap(W_k)) + L, a running maximum
        called = np.interp(want_s, knots_s, made)
        steps_done = size * np.arange(len(want_s), dtype=np.float64)
        done = np.maximum.accumulate(np.maximum(called - steps_done, 0.0)) + steps_done + size
        finished_s = _first_time_made(knots_s, made, done)
        arrival[opening_lots:] = np.maximum(np.maximum(finished_s, want_s) + lead_s, 0.0)
    return np.maximum.accumulate(arrival), first_car.astype(np.int64)


def _either(value: float | None, fallback: float) -> float:
    """`value`, or `fallback` where it is not given."""
    return float(fallback if value is None else value)


def _capacity_curve(
    scenario: Scenario,
    steps: tuple[CapacityStep, ...],
    shortages: list[Shortage],
    origin_s: float,
) -> tuple[FloatArray, FloatArray]:
    """Knots (seconds) and pieces the supplier can have made by each, from `origin_s` on."""
    sop = scenario.start_of_production
    changes: list[tuple[float, float]] = [
        (
            (step.start - sop).days * 86_400.0,
            min(step.per_week / _WEEK_S, _UNLIMITED_PER_S),
        )
        for step in steps
    ] or [(origin_s, _UNLIMITED_PER_S)]
    for shortage in shortages:
        begin = (shortage.start - sop).days * 86_400.0
        end = begin + shortage.hours * 3600.0
        after = _rate_at(changes, end)
        changes = [c for c in changes if not begin <= c[0] < end]
        changes += [(begin, 0.0), (end, after)]
        changes.sort()
    origin_s = min(origin_s, changes[0][0])
    times = [origin_s] + [t for t, _ in changes if t > origin_s]
    rates = [_rate_at(changes, t) for t in times]
    far_s = max(times[-1], 0.0) + 200 * 365 * 86_400.0
    knots = np.array([*times, far_s], dtype=np.float64)
    made = np.concatenate(([0.0], np.cumsum(np.diff(knots) * np.array(rates))))
    return knots, made


def _rate_at(changes: list[tuple[float, float]], time_s: float) -> float:
    """The rate in force at `time_s`: the last change at or before it, else the first."""
    rate = changes[0][1]
    for start, per_s in changes:
        if start <= time_s:
            rate = per_s
    return rate


def _first_time_made(knots_s: FloatArray, made: FloatArray, pieces: FloatArray) -> FloatArray:
    """The earliest moments the supplier has made `pieces` (capacity curve inverted)."""
    after = np.clip(np.searchsorted(made, pieces, side="left"), 1, len(made) - 1)
    rate = (made[after] - made[after - 1]) / (knots_s[after] - knots_s[after - 1])
    moment = knots_s[after - 1] + (pieces - made[after - 1]) / np.where(rate > 0, rate, 1.0)
    return np.asarray(np.where(pieces <= made[0], knots_s[0], moment), dtype=np.float64)
