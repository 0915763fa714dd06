"""A scenario's `uncertainty`: values known only to within an error, drawn anew for each run.

`uncertainty` maps a path (spelled as `--set` spells it, `sim.overrides`) to a standard
deviation. Each run draws each listed value with the file's value as its mean and that
deviation: lognormal above the field's lower bound where it has one (`mtbf_h` above 0,
`start_factor` above 1, `p_fail` above 0), normal otherwise, and kept within the field's
range; from its own random stream (`uncertainty:PATH`) of the run's
seed: a run stays reproducible, and two scenarios run with the same seeds draw alike. A
calibrated twin (`linespeed twin calibrate`) writes the standard errors of its fits here, so
the spread of a what-if holds what the data leave open, not only the line's own chance.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import annotated_types
import numpy as np
from pydantic import BaseModel

from linespeed.sim.overrides import parse_path
from linespeed.sim.plan import stream

ModelT = TypeVar("ModelT", bound=BaseModel)


def drawn(scenario: ModelT, uncertainty: dict[str, float], seed: int) -> ModelT:
    """`scenario` with each value named in `uncertainty` drawn for the run seeded `seed`."""
    if not uncertainty:
        return scenario
    data = scenario.model_dump(by_alias=True)
    for path_text, deviation in uncertainty.items():
        path = parse_path(path_text)
        parent: Any = data
        for step in path[:-1]:
            parent = parent[step]
        value = parent[path[-1]]
        low, high = _bounds(scenario, path)
        draw = min(
            max(_draw(stream(seed, f"uncertainty:{path_text}"), value, deviation, low), low), high
        )
        parent[path[-1]] = round(draw) if isinstance(value, int) else draw
    data["uncertainty"] = {}
    return type(scenario).model_validate(data)


def _draw(rng: np.random.Generator, value: float, deviation: float, low: float) -> float:
    """A value with mean `value` and standard deviation `deviation`: lognormal above a
    finite lower bound (so a positive value stays well away from 0), normal otherwise."""
    room = value - low
    if math.isinf(low) or room <= 0:
        return float(rng.normal(value, deviation))
    sigma2 = math.log1p((deviation / room) ** 2)
    return low + room * math.exp(float(rng.normal(-sigma2 / 2.0, math.sqrt(sigma2))))


def _bounds(model: BaseModel, path: tuple[str | int, ...]) -> tuple[float, float]:
    """The range a value at `path` of `model` may take, from its field's constraints."""
    owner: Any = model
    for step in path[:-1]:
        owner = getattr(owner, str(step)) if isinstance(owner, BaseModel) else owner[step]
    low, high = -math.inf, math.inf
    if not isinstance(owner, BaseModel):
        return low, high
    field = type(owner).model_fields.get(str(path[-1]))
    for rule in [] if field is None else field.metadata:
        if isinstance(rule, annotated_types.Ge):
            low = max(low, float(rule.ge))  # type: ignore[arg-type]
        elif isinstance(rule, annotated_types.Gt):
            bound = float(rule.gt)  # type: ignore[arg-type]
            low = max(low, bound + max(abs(bound), 1.0) * 1e-6)
        elif isinstance(rule, annotated_types.Le):
            high = min(high, float(rule.le))  # type: ignore[arg-type]
        elif isinstance(rule, annotated_types.Lt):
            bound = float(rule.lt)  # type: ignore[arg-type]
            high = min(high, bound - max(abs(bound), 1.0) * 1e-6)
    return low, high
