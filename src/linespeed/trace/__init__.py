"""Genealogy and recall: what is in a car, and which cars hold a part.

- `genealogy`: `vin_trace`, every part in a car and where each serialized piece has been
  (`VinTrace`, `TracedPart`, `OtherCar`).
- `missing`: `missing_parts`, completed and shipped cars lacking a serialized part their BOM
  requires (`MissingParts`, `MissingCar`, `MissingPart`).
- `recall`: `part_recall`, every car holding a part, lot, serial or supplier, shipped or not,
  with counts by status (`Recall`, `RecalledCar`, `CAR_STATUSES`); `plants_recall`, the same
  across the plants of a store, each car with its plant.
- `recall_csv`: `recall_csv`, the recall file, the same bytes for the CLI and the API.
- `history`: `unit_history`, a car's stations, parts, inspections, defects and numbers.
- `errors`: `TraceInputError` (`trace.input`), naming the parameter and its value.
"""

from linespeed.trace.errors import TraceInputError
from linespeed.trace.genealogy import OtherCar, TracedPart, VinTrace, vin_trace
from linespeed.trace.history import UnitHistory, unit_history
from linespeed.trace.missing import MissingCar, MissingPart, MissingParts, missing_parts
from linespeed.trace.recall import (
    CAR_STATUSES,
    CarStatus,
    Recall,
    RecalledCar,
    StatusFilter,
    part_recall,
    plants_recall,
)
from linespeed.trace.recall_csv import RECALL_COLUMNS, RECALL_CSV_TYPE, recall_csv

__all__ = [
    "CAR_STATUSES",
    "RECALL_COLUMNS",
    "RECALL_CSV_TYPE",
    "CarStatus",
    "MissingCar",
    "MissingPart",
    "MissingParts",
    "OtherCar",
    "Recall",
    "RecalledCar",
    "StatusFilter",
    "TraceInputError",
    "TracedPart",
    "UnitHistory",
    "VinTrace",
    "missing_parts",
    "part_recall",
    "plants_recall",
    "recall_csv",
    "unit_history",
    "vin_trace",
]
