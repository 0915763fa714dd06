"""Plants' ramps side by side: each plant's cumulative curve in days since its own start of
production, and the days each took to every milestone (`ramp --plant A --plant B`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine

from linespeed.ramp.compare import RampComparison, compare_ramps
from linespeed.ramp.plant_ramp import plant_ramp
from linespeed.ramp.references import reference_series
from linespeed.ramp.series import RampSeries


@dataclass(frozen=True)
class PlantsRamp:
    """Several plants' ramps aligned on each one's start of production, with references."""

    plants: list[RampSeries]
    """Each plant's curve (its `name` is the plant id), in the order asked."""
    references: list[RampSeries]
    comparison: RampComparison | None
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        """The plants' curves (by date and by days since start of production) and the
        comparison, as JSON-ready data."""
        return {
            "aligned_on": "start of production",
            "plants": [
                {
                    "plant": one.name,
                    "name": one.label,
                    "metric": one.metric,
                    "start_of_production": one.start.isoformat(),
                    "cars": one.pairs()[-1][1],
                    "cumulative": [[day.isoformat(), count] for day, count in one.pairs()],
                    "days_since_sop": [
                        [(day - one.start).days, count] for day, count in one.pairs()
                    ],
                }
                for one in self.plants
            ],
            "references": [
                {"name": one.name, "legend": one.legend, "metric": one.metric}
                for one in self.references
            ],
            "comparison": None if self.comparison is None else self.comparison.to_json(),
            "notes": self.notes,
        }

    def to_text(self) -> str:
        """Each plant's standing, then the comparison table, for people."""
        lines = [
            f"{one.label}: {one.pairs()[-1][1]:,.0f} cars in"
            f" {(one.pairs()[-1][0] - one.start).days:,} days since start of production"
            f" {one.start}"
            for one in self.plants
        ]
        if self.comparison is not None:
            lines.append(self.comparison.to_text())
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def plants_ramp(
    plants: Sequence[tuple[str, Engine]], *, references: Sequence[str] = ()
) -> PlantsRamp:
    """The ramps of `plants` ((plant id, store) pairs) and of `references`, each aligned on
    its own start of production.

    A plant without a completed car (or imported history) has no curve: a note says so.
    Raises RampReferenceError naming an unknown reference, StoreError if a store holds no
    plant, LinespeedError (ramp.history_mismatch) as `plant_ramp` does.
    """
    from linespeed.ramp.report import check_references

    check_references(references)
    curves: list[RampSeries] = []
    notes: list[str] = []
    for plant_id, engine in plants:
        curve = plant_ramp(engine)
        if curve is None:
            notes.append(f"plant {plant_id} has completed no car yet: it has no curve")
        else:  # labelled by plant: two plants of one program may share a name
            curves.append(replace(curve, label=f"{plant_id} ({curve.label})"))
    chosen = [reference_series(name) for name in references]
    series = {one.name: one for one in (*curves, *chosen)}
    comparison = compare_ramps(series) if series else None
    return PlantsRamp(curves, chosen, comparison, notes)
