"""A plain, deterministic event stream on a plant: cars at takt through every station.

No failures, queues or shifts: it stands in for the line simulator where a valid stream
of known shape is all that is needed (the bundled example file, tests, the ingest
benchmark). Events come out in time order, exactly as a line would send them.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from linespeed.events.types import (
    DefectClosed,
    DefectOpened,
    Event,
    InspectionRecorded,
    PartInstalled,
    StationCompleted,
    StationState,
    UnitCompleted,
    UnitShipped,
    UnitStarted,
)
from linespeed.plant.model import Model, Plant
from linespeed.plant.vin import nth_vin


@dataclass(frozen=True)
class ExampleSettings:
    """What shapes the example stream."""

    cars: int = 20
    start: datetime = datetime(2025, 6, 30, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    seed: int = 1
    defect_rate: float = 0.05
    lot_size: int = 400
    first_number: int = 1
    ship: bool = True
    id_prefix: str = "ex"


def example_events(plant: Plant, settings: ExampleSettings = ExampleSettings()) -> Iterator[Event]:
    """Valid events for `settings.cars` cars on the plant's first line, in time order."""
    line = plant.lines[0]
    takt = timedelta(seconds=line.takt_s)
    start = settings.start.astimezone(ZoneInfo(plant.timezone))
    rng = random.Random(settings.seed)
    counter = iter(range(1, 1 << 62))

    def next_id() -> str:
        return f"{settings.id_prefix}-{next(counter):010d}"

    heap: list[tuple[datetime, int, int, Event, Iterator[tuple[datetime, Event]]]] = []
    order = iter(range(1 << 62))

    def push(car: int) -> None:
        stream = _car_events(plant, settings, car, start + car * takt, rng, next_id)
        first = next(stream, None)
        if first is not None:
            heapq.heappush(heap, (first[0], car, next(order), first[1], stream))

    for station in line.stations:
        yield StationState(id=next_id(), ts=start, station=station.id, state="running")
    push(0)
    while heap:
        _, car, _, event, stream = heapq.heappop(heap)
        yield event
        if isinstance(event, UnitStarted) and car + 1 < settings.cars:
            push(car + 1)
        following = next(stream, None)
        if following is not None:
            heapq.heappush(heap, (following[0], car, next(order), following[1], stream))


def _car_events(
    plant: Plant,
    settings: ExampleSettings,
    car: int,
    started_at: datetime,
    rng: random.Random,
    make_id: Callable[[], str],
) -> Iterator[tuple[datetime, Event]]:
    line = plant.lines[0]
    model: Model = plant.models[car % len(plant.models)]
    colors = [color for color in model.colors if color != plant.milestones.color] or list(
        model.colors
    )
    number = settings.first_number + car
    vin = nth_vin(plant, model.id, number)
    takt = timedelta(seconds=line.takt_s)
    lot = f"L{(number - 1) // settings.lot_size + 1:05d}"
    yield (
        started_at,
        UnitStarted(
            id=make_id(), ts=started_at, vin=vin, model=model.id, color=colors[car % len(colors)]
        ),
    )
    open_defect: str | None = None
    at = started_at
    for index, station in enumerate(line.stations):
        entered = started_at + index * takt
        left = entered + timedelta(seconds=station.cycle_s)
        for offset, bom_part in enumerate(model.bom_at(station.id).values(), start=1):
            ts = entered + timedelta(seconds=offset)
            yield (
                ts,
                PartInstalled(
                    id=make_id(),
                    ts=ts,
                    vin=vin,
                    station=station.id,
                    part=bom_part.part,
                    serial=f"{bom_part.part}-{number:08d}" if bom_part.serialized else None,
                    lot=None if bom_part.serialized else f"{bom_part.part}-{lot}",
                    supplier=bom_part.supplier,
                ),
            )
        if open_defect is not None and station.gate:
            ts = entered + timedelta(seconds=station.cycle_s / 2)
            yield (
                ts,
                DefectClosed(
                    id=make_id(),
                    ts=ts,
                    vin=vin,
                    defect=open_defect,
                    action="repaired",
                    station=station.id,
                ),
            )
            open_defect = None
        for offset, check in enumerate(station.checks, start=1):
            ts = left - timedelta(seconds=offset)
            failed = open_defect is None and rng.random() < settings.defect_rate
            yield (
                ts,
                InspectionRecorded(
                    id=make_id(),
                    ts=ts,
                    vin=vin,
                    station=station.id,
                    check=check,
                    result="fail" if failed else "pass",
                ),
            )
            if failed and not station.gate:
                open_defect = f"{vin}-{check}"
                yield (
                    ts,
                    DefectOpened(
                        id=make_id(),
                        ts=ts,
                        vin=vin,
                        station=station.id,
                        defect=open_defect,
                        code=f"{check}-out-of-spec",
                        severity="minor",
                    ),
                )
        at = left
        yield (
            left,
            StationCompleted(
                id=make_id(), ts=left, vin=vin, station=station.id, started_at=entered, result="ok"
            ),
        )
    completed_at = at + timedelta(seconds=1)
    yield completed_at, UnitCompleted(id=make_id(), ts=completed_at, vin=vin)
    if settings.ship:
        shipped_at = completed_at + timedelta(hours=4)
        yield shipped_at, UnitShipped(id=make_id(), ts=shipped_at, vin=vin, destination="yard-east")
