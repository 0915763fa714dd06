"""Genealogy and recall: what is in a car (`vin_trace`), which cars hold a part (`part_recall`),
and the recall file (`recall_csv`)."""

from linespeed.trace.errors import TraceInputError
from linespeed.trace.genealogy import OtherCar, TracedPart, VinTrace, vin_trace
from linespeed.trace.history import UnitHistory, unit_history
from linespeed.trace.recall import (
    CAR_STATUSES,
    CarStatus,
    Recall,
    RecalledCar,
    StatusFilter,
    part_recall,
)
from linespeed.trace.recall_csv import RECALL_COLUMNS, RECALL_CSV_TYPE, recall_csv

__all__ = [
    "CAR_STATUSES",
    "RECALL_COLUMNS",
    "RECALL_CSV_TYPE",
    "CarStatus",
    "OtherCar",
    "Recall",
    "RecalledCar",
    "StatusFilter",
    "TraceInputError",
    "TracedPart",
    "UnitHistory",
    "VinTrace",
    "part_recall",
    "recall_csv",
    "unit_history",
    "vin_trace",
]
