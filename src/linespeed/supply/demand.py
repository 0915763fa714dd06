"""How many pieces of each part the plant will use, day by day: what days of cover count down.

The demand of a day is the stored plan's cars that day (`supply.plan`) times each model's
BOM `qty` (a serialized part: 1). Plan rows that leave `model` empty are split by the model
mix of the cars completed over the `RATE_WINDOW` (7 days) before `as_of` (equal shares when
none were). Days no plan revision covers, and every day after the plan's last, use the
recent rate: the cars completed per model per day over that same window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from linespeed.plant.model import Plant
from linespeed.store.schema import units
from linespeed.supply.plan import day_plans

RATE_WINDOW: Final = timedelta(days=7)
"""Completions over this span before `as_of` give the recent rate and the model mix."""
HORIZON_DAYS: Final = 400
"""Planned days read ahead of `as_of`; beyond them the recent rate goes on."""


@dataclass(frozen=True)
class PartDemand:
    """Pieces of one part needed per day from `as_of`: the planned days, then the recent rate.

    `per_day[0]` is what is left of `as_of`'s own day (its plan times `first_day_share`, the
    share of the day still to come); `per_day[i]` is the i-th day after. After those days,
    `after` pieces a day.
    """

    as_of: datetime
    """In the plant's time zone."""
    first_day_share: float
    per_day: tuple[float, ...]
    after: float

    def cover(self, on_hand: int) -> tuple[float | None, date | None]:
        """Days of cover from `as_of` for `on_hand` pieces, and the plant-local day they run out.

        Both are None when the demand ahead never uses them up; nothing on hand gives 0.0
        days, running out on `as_of`'s day.
        """
        left = float(max(on_hand, 0))
        days = 0.0
        for index, need in enumerate(self.per_day):
            length = self.first_day_share if index == 0 else 1.0
            if (left <= need and need > 0.0) or left <= 0.0:
                days += length * left / need if need > 0.0 else 0.0
                return self._until(days)
            left -= need
            days += length
        if self.after <= 0.0:
            return None, None
        return self._until(days + left / self.after)

    def _until(self, days: float) -> tuple[float, date]:
        return round(days, 2), (self.as_of + timedelta(days=days)).date()


def demand_ahead(connection: Connection, plant: Plant, as_of: datetime) -> dict[str, PartDemand]:
    """What each part will be needed for from `as_of`, by part (parts without demand left out)."""
    zone = ZoneInfo(plant.timezone)
    local = as_of.astimezone(zone)
    today = local.date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=zone)
    share = 1.0 - min(max((local - midnight).total_seconds() / 86_400.0, 0.0), 1.0)
    recent, mix = _recent(connection, as_of)
    pieces = _pieces_per_car(plant)
    recent_parts = _parts_of(recent, pieces)
    plans = day_plans(connection, today, today + timedelta(days=HORIZON_DAYS))
    last = max(plans, default=None)
    shares = _shares(mix, plant)
    per_day: dict[str, list[float]] = defaultdict(list)
    parts = set(recent_parts) | {part for model in pieces.values() for part in model}
    days = 0 if last is None else (last - today).days + 1
    for offset in range(days):
        plan = plans.get(today + timedelta(offset))
        if plan is None:
            needed = recent_parts
        else:
            cars: dict[str, float] = defaultdict(float)
            for row in plan.rows:
                if row.model is not None:
                    cars[row.model] += row.quantity
                else:
                    for model_id, model_share in shares.items():
                        cars[model_id] += row.quantity * model_share
            needed = _parts_of(cars, pieces)
        for part in parts:
            per_day[part].append(needed.get(part, 0.0) * (share if offset == 0 else 1.0))
    demand = {
        part: PartDemand(local, share, tuple(per_day.get(part, ())), recent_parts.get(part, 0.0))
        for part in parts
    }
    return {part: ahead for part, ahead in demand.items() if ahead.after > 0 or any(ahead.per_day)}


def _recent(connection: Connection, as_of: datetime) -> tuple[dict[str, float], dict[str, int]]:
    """Cars completed per model per day over the RATE_WINDOW before `as_of` (over fewer days,
    at least one, when production started inside it), and their counts (the mix)."""
    since = as_of - RATE_WINDOW
    first = connection.execute(select(func.min(units.c.completed_at))).scalar()
    if first is None:
        return {}, {}
    days = max((as_of - max(since, first)).total_seconds() / 86_400.0, 1.0)
    counts = {
        str(model): int(completed)
        for model, completed in connection.execute(
            select(units.c.model, func.count())
            .where(units.c.completed_at > since, units.c.completed_at <= as_of)
            .group_by(units.c.model)
        )
    }
    return {model: completed / days for model, completed in counts.items()}, counts


def _pieces_per_car(plant: Plant) -> dict[str, dict[str, int]]:
    """Pieces of each part per car, by model then part."""
    per_model: dict[str, dict[str, int]] = {}
    for model in plant.models:
        parts: dict[str, int] = defaultdict(int)
        for bom_part in model.parts:
            parts[bom_part.part] += 1 if bom_part.serialized else bom_part.qty
        per_model[model.id] = dict(parts)
    return per_model


def _parts_of(
    cars: Mapping[str, float], pieces: Mapping[str, Mapping[str, int]]
) -> dict[str, float]:
    """Pieces of each part for `cars` per model."""
    needed: dict[str, float] = defaultdict(float)
    for model_id, count in cars.items():
        for part, qty in pieces.get(model_id, {}).items():
            needed[part] += count * qty
    return dict(needed)


def _shares(mix: Mapping[str, int], plant: Plant) -> dict[str, float]:
    """Each model's share of plan rows that name no model: the recent mix, else equal."""
    known = {model: count for model, count in mix.items() if model in plant.models_by_id}
    total = sum(known.values())
    if total > 0:
        return {model: count / total for model, count in known.items()}
    return {model.id: 1.0 / len(plant.models) for model in plant.models}
