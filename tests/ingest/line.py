"""Builders of contract-2 event payloads (as dicts) for tests on the default plant."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from linespeed.plant.model import Plant
from linespeed.plant.vin import nth_vin

_ids = itertools.count(1)
_clock = itertools.count(1)
_T0 = datetime(2025, 6, 30, 0, 0, tzinfo=UTC)


def ts() -> str:
    """A timestamp one second after the previous one, with the plant's +08:00 offset."""
    moment = _T0 + timedelta(seconds=next(_clock))
    return moment.astimezone(UTC).isoformat().replace("+00:00", "+08:00")


def event(kind: str, **fields: Any) -> dict[str, Any]:
    """An event dict with a fresh id and the next timestamp."""
    return {"id": f"t-{next(_ids):08d}", "ts": ts(), "kind": kind, **fields}


def vin(plant: Plant, model: str, number: int) -> str:
    """The VIN of car `number` of a model on the plant."""
    return nth_vin(plant, model, number)


def start(plant: Plant, model: str, number: int, color: str = "pearl-white") -> dict[str, Any]:
    """unit.started for car `number`."""
    return event("unit.started", vin=vin(plant, model, number), model=model, color=color)


def through(
    plant: Plant, car_vin: str, upto: str | None = None, *, first: int = 0
) -> list[dict[str, Any]]:
    """station.completed for every mandatory station from index `first` up to (not incl.) `upto`."""
    stations = plant.lines[0].stations
    rows = []
    for station in stations[first:]:
        if station.id == upto:
            break
        if station.optional:
            continue
        rows.append(event("station.completed", vin=car_vin, station=station.id, result="ok"))
    return rows


def full_line(plant: Plant, car_vin: str) -> list[dict[str, Any]]:
    """Every mandatory station of the line, then unit.completed."""
    return [*through(plant, car_vin), event("unit.completed", vin=car_vin)]
