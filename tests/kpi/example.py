"""The worked example of docs/kpi.md: a three-station line, seven cars, one hour.

Times are seconds after 08:00:00 local time (+08:00) on 2025-06-30, i.e. 00:00:00 UTC.
Cars follow a serial line with blocking after service: st-10 has one buffer place after
it, st-20 and st-30 none.

| car | model, colour     | started | st-10       | st-20          | st-30      | end            |
|-----|-------------------|---------|-------------|----------------|------------|----------------|
| 0   | s7, pearl-white   | -60     | -60 .. -10  | -10 .. 45      | 45 .. 100  | completed 100  |
| 1   | s7, pearl-white   | 0       | 0 .. 50     | 50 .. 110      | 110 .. 175 | completed 175  |
| 2   | s7, lava-orange   | 60      | 60 .. 110   | 110 .. 170 (*) | 175 .. 215 | completed 215  |
| 3   | x9, pearl-white   | 120     | 120 .. 170  | 175 .. 235     | 235 .. 275 | completed 275  |
| 4   | x9, lava-orange   | 180     | 180 .. 230  | (235 .. 305)   |            | scrapped 305   |
| 5   | s7, pearl-white   | 3000    | 3000 .. 3050|                |            | in production  |
| 6   | x9, lava-orange   | 3500    |             |                |            | in production  |

(*) car 2 waits at st-20 from 170 to 175: st-30 still holds car 1 (blocked).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from linespeed.plant.model import Plant
from tests.ingest.line import vin

T0 = datetime(2025, 6, 30, 0, 0, tzinfo=UTC)
"""08:00:00 in the plant (Asia/Shanghai, +08:00)."""
LOCAL = timezone(timedelta(hours=8))

PLANT: dict[str, Any] = {
    "plant": "kpi-example",
    "name": "KPI worked example",
    "timezone": "Asia/Shanghai",
    "vin": {"wmi": "LSP", "plant_code": "B", "model_year": 2025},
    "models": [
        {"id": "s7", "vds": "A1S7E", "colors": ["pearl-white", "lava-orange"]},
        {"id": "x9", "vds": "A1X9E", "colors": ["pearl-white", "lava-orange"]},
    ],
    "lines": [
        {
            "id": "l1",
            "takt_s": 60,
            "stations": [
                {"id": "st-10", "area": "body", "cycle_s": 50, "buffer": 1},
                {"id": "st-20", "area": "ga", "cycle_s": 55, "buffer": 0, "checks": ["torque"]},
                {
                    "id": "st-30",
                    "area": "eol",
                    "cycle_s": 40,
                    "buffer": 0,
                    "checks": ["leak"],
                    "gate": True,
                },
            ],
        }
    ],
    "shifts": [
        {"name": "A", "start": "06:00", "end": "08:30"},
        {"name": "B", "start": "08:30", "end": "17:00"},
    ],
}


def example_plant() -> Plant:
    """The plant of the worked example."""
    return Plant.model_validate(PLANT)


def at(second: float) -> datetime:
    """The moment `second` seconds after 08:00 local time."""
    return T0 + timedelta(seconds=second)


class Events:
    """Builds events with explicit times (seconds after 08:00 local)."""

    def __init__(self, plant: Plant) -> None:
        self.plant = plant
        self.items: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def add(self, second: float, kind: str, **fields: Any) -> None:
        """One event at `second`."""
        stamp = at(second).astimezone(LOCAL)
        self.items.append(
            {"id": f"k-{next(self._ids):04d}", "ts": stamp.isoformat(), "kind": kind, **fields}
        )

    def car(self, number: int, model: str, color: str, started: float) -> str:
        """unit.started for car `number` (its VIN is the plant's car number + 1 of the model)."""
        car_vin = vin(self.plant, model, number + 1)
        self.add(started, "unit.started", vin=car_vin, model=model, color=color)
        return car_vin

    def visit(self, car_vin: str, station: str, start: float, end: float) -> None:
        """station.completed at `end`, started at `start`."""
        self.add(
            end,
            "station.completed",
            vin=car_vin,
            station=station,
            started_at=at(start).isoformat(),
            result="ok",
        )

    def check(self, second: float, car_vin: str, station: str, check: str, result: str) -> None:
        """inspection.recorded."""
        self.add(
            second, "inspection.recorded", vin=car_vin, station=station, check=check, result=result
        )

    def defect(
        self, opened: float, closed: float, car_vin: str, station: str, defect: str, code: str
    ) -> None:
        """defect.opened, then defect.closed (repaired)."""
        self.add(
            opened,
            "defect.opened",
            vin=car_vin,
            station=station,
            defect=defect,
            code=code,
            severity="minor",
        )
        self.add(closed, "defect.closed", vin=car_vin, defect=defect, action="repaired")


def example_events(plant: Plant) -> list[dict[str, Any]]:
    """Every event of the worked example, each car's in order."""
    events = Events(plant)
    car0 = events.car(0, "s7", "pearl-white", -60)
    events.visit(car0, "st-10", -60, -10)
    events.check(40, car0, "st-20", "torque", "pass")
    events.visit(car0, "st-20", -10, 45)
    events.check(90, car0, "st-30", "leak", "pass")
    events.visit(car0, "st-30", 45, 100)
    events.add(100, "unit.completed", vin=car0)

    car1 = events.car(1, "s7", "pearl-white", 0)
    events.visit(car1, "st-10", 0, 50)
    events.check(100, car1, "st-20", "torque", "pass")
    events.visit(car1, "st-20", 50, 110)
    events.check(170, car1, "st-30", "leak", "pass")
    events.visit(car1, "st-30", 110, 175)
    events.add(175, "unit.completed", vin=car1)

    car2 = events.car(2, "s7", "lava-orange", 60)
    events.defect(100, 105, car2, "st-10", "d-2a", "scratch")
    events.visit(car2, "st-10", 60, 110)
    events.check(160, car2, "st-20", "torque", "fail")
    events.defect(160, 172, car2, "st-20", "d-2b", "torque-low")
    events.visit(car2, "st-20", 110, 170)
    events.check(210, car2, "st-30", "leak", "pass")
    events.visit(car2, "st-30", 175, 215)
    events.add(215, "unit.completed", vin=car2)

    car3 = events.car(3, "x9", "pearl-white", 120)
    events.defect(160, 165, car3, "st-10", "d-3a", "scratch")
    events.visit(car3, "st-10", 120, 170)
    events.check(230, car3, "st-20", "torque", "pass")
    events.visit(car3, "st-20", 175, 235)
    events.check(270, car3, "st-30", "leak", "fail")
    events.defect(270, 272, car3, "st-30", "d-3b", "leak")
    events.visit(car3, "st-30", 235, 275)
    events.add(275, "unit.completed", vin=car3)

    car4 = events.car(4, "x9", "lava-orange", 180)
    events.visit(car4, "st-10", 180, 230)
    events.check(300, car4, "st-20", "torque", "fail")
    events.add(305, "unit.scrapped", vin=car4, station="st-20", reason="dropped from hoist")

    car5 = events.car(5, "s7", "pearl-white", 3000)
    events.visit(car5, "st-10", 3000, 3050)
    events.car(6, "x9", "lava-orange", 3500)

    events.add(600, "station.state", station="st-20", state="down", reason="torque tool fault")
    events.add(900, "station.state", station="st-20", state="running")
    events.add(3300, "station.state", station="st-30", state="planned-stop", reason="team meeting")
    events.add(3600, "station.state", station="st-30", state="running")
    return events.items
