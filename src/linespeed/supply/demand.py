"""How many pieces of each part the plant uses per day: what days of cover divide by."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection, func, select

from linespeed.plant.model import Plant
from linespeed.store.schema import units

RATE_WINDOW: Final = timedelta(days=7)
"""Completions over this span before `as_of` give the rate and the model mix."""


def daily_demand(connection: Connection, plant: Plant, as_of: datetime) -> dict[str, float]:
    """Pieces of each part used per day at the planned rate, by part (parts without demand
    are left out).

    Until the production plan feeds it, the planned rate is the recent one: the cars
    completed per model over the `RATE_WINDOW` (7 days) before `as_of`, per day (over
    fewer days, at least one, when production started inside that span), times each
    model's BOM `qty` (serialized parts: 1). This is the one place demand is computed:
    the plan (issue 13, `supply/plan.py`) replaces the recent rate here with the planned
    cars per day, using the recent model mix where plan rows leave the model empty.
    """
    since = as_of - RATE_WINDOW
    first = connection.execute(select(func.min(units.c.completed_at))).scalar()
    if first is None:
        return {}
    days = max((as_of - max(since, first)).total_seconds() / 86400.0, 1.0)
    per_model = connection.execute(
        select(units.c.model, func.count())
        .where(units.c.completed_at > since, units.c.completed_at <= as_of)
        .group_by(units.c.model)
    ).all()
    demand: dict[str, float] = {}
    for model_id, completed in per_model:
        model = plant.models_by_id.get(model_id)
        if model is None:
            continue
        for bom_part in model.parts:
            pieces = 1 if bom_part.serialized else bom_part.qty
            demand[bom_part.part] = demand.get(bom_part.part, 0.0) + completed * pieces / days
    return demand
