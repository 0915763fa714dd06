"""Milestone cars: which completions are milestones, which have been reached, and which car
in the line is expected to become the next one (so it can be built in the milestone colour).

Car numbers count the plant's `cars_before` (cars completed before the store began): the
store's Nth completion is car `cars_before + N`; days count from the plant's `sop` when set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select

from linespeed.plant.model import Plant
from linespeed.ramp.errors import MilestoneInputError
from linespeed.store.plants import current_plant
from linespeed.store.schema import milestone_plans, units

_EXACT_BEYOND = 200
"""Further ahead than this many cars past the line, every car gets the same survival chance."""

_MASS: float = 0.999
"""How much of the probability a plan's candidate list covers."""


@dataclass(frozen=True)
class MilestoneCar:
    """A milestone reached: the Nth completed car."""

    number: int
    vin: str
    model: str
    color: str
    completed_at: datetime
    days_since_sop: float
    in_milestone_color: bool
    planned_vin: str | None
    was_planned: bool | None


@dataclass(frozen=True)
class MilestoneReport:
    """Milestones reached so far, and the next one."""

    start_of_production: datetime | None
    completed: int
    reached: list[MilestoneCar]
    next_milestone: int | None
    milestone_color: str | None
    timezone: str


@dataclass(frozen=True)
class Candidate:
    """A car that may become the Nth completed car, with the probability that it will."""

    start_seq: int
    vin: str | None
    probability: float
    started: bool


@dataclass(frozen=True)
class MilestonePlan:
    """Which car is expected to become the Nth completed car."""

    number: int
    completed: int
    in_production: int
    scrap_rate: float
    best: Candidate | None
    candidates: list[Candidate]
    reached: MilestoneCar | None
    note: str


def milestone_numbers(plant: Plant, up_to: int) -> list[int]:
    """The plant's milestone completion counts up to `up_to`, in order."""
    numbers = {n for n in plant.milestones.also if n <= up_to}
    every = plant.milestones.every
    if every:
        numbers.update(range(every, up_to + 1, every))
    return sorted(numbers)


def next_milestone(plant: Plant, completed: int) -> int | None:
    """The first milestone count above `completed`, if the plant has one."""
    every = plant.milestones.every
    later = [n for n in plant.milestones.also if n > completed]
    if every:
        later.append((completed // every + 1) * every)
    return min(later) if later else None


def milestones_reached(engine: Engine) -> MilestoneReport:
    """Every milestone reached so far: number, VIN, completion time, days since SOP.

    `completed` counts the plant's `cars_before`; milestones among those cars are not listed
    (the store never saw them). Start of production is the plant's `sop` (local midnight),
    else the first car's start. Raises StoreError if no plant is loaded.
    """
    with engine.connect() as connection:
        plant = current_plant(connection)
        completed, sop = _progress(connection, plant)
        numbers = [n for n in milestone_numbers(plant, completed) if n > plant.cars_before]
        reached = _milestone_cars(connection, plant, numbers, sop)
    return MilestoneReport(
        start_of_production=sop,
        completed=completed,
        reached=reached,
        next_milestone=next_milestone(plant, completed),
        milestone_color=plant.milestones.color,
        timezone=plant.timezone,
    )


MAX_MILESTONE: Final = 1_000_000_000
"""The largest car number a milestone plan is made for (no plant builds more)."""


def plan_milestone(engine: Engine, number: int, *, record: bool = False) -> MilestonePlan:
    """The car expected to become the `number`th completed car, with its probability.

    Cars complete in start order on a serial line; each car still on the line may be
    scrapped, at the observed scrap rate scaled by the share of the line still ahead of it.
    With `record`, the best candidate is stored as the car to build in the milestone colour.
    Raises MilestoneInputError (milestone.input) if `number` is not in 1..MAX_MILESTONE or
    is among the plant's `cars_before` (completed before the store began).
    """
    if not 1 <= number <= MAX_MILESTONE:
        raise MilestoneInputError(
            f"a milestone number must be from 1 to {MAX_MILESTONE:,}, got {number:,}",
            parameter="number",
            value=number,
        )
    with engine.connect() as connection:
        plant = current_plant(connection)
        if number <= plant.cars_before:
            raise MilestoneInputError(
                f"car {number:,} was completed before the store began (the plant's "
                f"cars_before is {plant.cars_before:,}): the store has no record of it",
                parameter="number",
                value=number,
            )
        completed, sop = _progress(connection, plant)
        if number <= completed:
            (car,) = _milestone_cars(connection, plant, [number], sop)
            return MilestonePlan(
                number, completed, 0, 0.0, None, [], car, f"car {number} was completed"
            )
        scrapped = connection.execute(
            select(func.count()).select_from(units).where(units.c.status == "scrapped")
        ).scalar_one()
        scrap_rate = scrapped / (completed + scrapped) if completed + scrapped else 0.0
        line_length = {line.id: len(line.stations) for line in plant.lines}
        index = {s.id: i for line in plant.lines for i, s in enumerate(line.stations)}
        wip = connection.execute(
            select(units.c.start_seq, units.c.vin, units.c.line, units.c.last_station)
            .where(units.c.status == "in_production")
            .order_by(units.c.start_seq)
        ).all()
        last_start = connection.execute(select(func.max(units.c.start_seq))).scalar() or 0
    survival = []
    for row in wip:
        done = index.get(row.last_station, -1) + 1 if row.last_station else 0
        ahead = 1.0 - done / line_length.get(row.line, 1)
        survival.append((row.start_seq, row.vin, 1.0 - scrap_rate * ahead, True))
    k = number - completed
    if k > len(survival) + _EXACT_BEYOND:
        first = survival[0][0] if survival else last_start + 1
        candidates = _negative_binomial(k, first, scrap_rate, last_start)
    else:
        candidates = _nth_survivor(k, survival, last_start, 1.0 - scrap_rate)
    best = max(candidates, key=lambda c: c.probability) if candidates else None
    if record and best is not None:
        _record(engine, number, best)
    note = (
        "the car is on the line"
        if best is not None and best.started
        else "the car has not started yet: its VIN is chosen when it is sequenced"
    )
    return MilestonePlan(number, completed, len(wip), scrap_rate, best, candidates[:10], None, note)


def _nth_survivor(
    k: int, cars: list[tuple[int, str | None, float, bool]], last_start: int, future_survival: float
) -> list[Candidate]:
    """Probability that each car is the k-th to survive, cars in start order (then future ones)."""
    # exactly[r] = P(r survivors among the cars so far), for r < k
    exactly = [1.0] + [0.0] * (k - 1)
    found: list[Candidate] = []
    covered = 0.0
    future = 0
    position = 0
    while covered < _MASS and (position < len(cars) or future_survival > 0):
        if position < len(cars):
            start_seq, vin, survive, started = cars[position]
        else:
            future += 1
            start_seq, vin, survive, started = last_start + future, None, future_survival, False
        position += 1
        chance = exactly[k - 1] * survive
        if chance > 1e-6:
            found.append(Candidate(start_seq, vin, chance, started))
        covered += chance
        for r in range(k - 1, 0, -1):
            exactly[r] = exactly[r] * (1.0 - survive) + exactly[r - 1] * survive
        exactly[0] *= 1.0 - survive
        if position > len(cars) + 10 * k + 1000:
            break
    return sorted(found, key=lambda c: -c.probability)


def _negative_binomial(k: int, first: int, scrap_rate: float, last_start: int) -> list[Candidate]:
    """The k-th surviving car from start number `first` on, each car scrapped at `scrap_rate`."""
    if scrap_rate <= 0.0:
        return [Candidate(first + k - 1, None, 1.0, first + k - 1 <= last_start)]
    survive = 1.0 - scrap_rate
    mean = k * scrap_rate / survive
    spread = math.sqrt(k * scrap_rate) / survive
    found = []
    for extra in range(max(0, int(mean - 6 * spread)), int(mean + 6 * spread) + 2):
        log_p = (
            math.lgamma(k + extra)
            - math.lgamma(extra + 1)
            - math.lgamma(k)
            + k * math.log(survive)
            + extra * math.log(scrap_rate)
        )
        chance = math.exp(log_p)
        if chance > 1e-6:
            start_seq = first + k + extra - 1
            found.append(Candidate(start_seq, None, chance, start_seq <= last_start))
    return sorted(found, key=lambda c: -c.probability)


def _record(engine: Engine, number: int, best: Candidate) -> None:
    with engine.begin() as connection:
        connection.execute(milestone_plans.delete().where(milestone_plans.c.number == number))
        connection.execute(
            milestone_plans.insert().values(
                number=number,
                start_seq=best.start_seq,
                vin=best.vin,
                probability=best.probability,
                planned_at=datetime.now(UTC),
            )
        )


def _progress(connection: Connection, plant: Plant) -> tuple[int, datetime | None]:
    """Cars completed (with `cars_before`) and the start of production."""
    completed = connection.execute(select(func.max(units.c.completion_seq))).scalar() or 0
    if plant.sop is not None:
        sop: datetime | None = datetime.combine(plant.sop, time(), ZoneInfo(plant.timezone))
    else:
        sop = connection.execute(select(func.min(units.c.started_at))).scalar()
    return int(completed) + plant.cars_before, sop


def _milestone_cars(
    connection: Connection, plant: Plant, numbers: list[int], sop: datetime | None
) -> list[MilestoneCar]:
    if not numbers:
        return []
    offset = plant.cars_before
    rows = connection.execute(
        select(
            units.c.completion_seq,
            units.c.vin,
            units.c.model,
            units.c.color,
            units.c.completed_at,
            units.c.start_seq,
        )
        .where(units.c.completion_seq.in_([number - offset for number in numbers]))
        .order_by(units.c.completion_seq)
    ).all()
    chosen = select(milestone_plans.c.number, milestone_plans.c.vin)
    plans = dict(connection.execute(chosen.where(milestone_plans.c.number.in_(numbers))).all())
    cars = []
    for row in rows:
        number = row.completion_seq + offset
        planned = plans.get(number)
        days = (row.completed_at - sop).total_seconds() / 86_400.0 if sop is not None else 0.0
        cars.append(
            MilestoneCar(
                number=number,
                vin=row.vin,
                model=row.model,
                color=row.color,
                completed_at=row.completed_at,
                days_since_sop=round(days, 2),
                in_milestone_color=row.color == plant.milestones.color,
                planned_vin=planned,
                was_planned=None if number not in plans else planned == row.vin,
            )
        )
    return cars
