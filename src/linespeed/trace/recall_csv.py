"""The recall file: a recall's cars as CSV, the same bytes for `trace part --csv` and the API."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Final

from linespeed.trace.recall import Recall

RECALL_COLUMNS: Final = (
    "vin",
    "model",
    "color",
    "status",
    "station",
    "completed_at",
    "shipped_at",
    "destination",
    "scrapped_at",
    "part",
    "serial",
    "lot",
    "supplier",
    "installed_station",
    "installed_at",
    "plant",
)
"""The columns of a recall file, in order; times in ISO 8601 UTC."""
RECALL_CSV_TYPE: Final = "text/csv; charset=utf-8"
"""The media type of a recall file."""


def recall_csv(recall: Recall) -> str:
    """The recall file: a header of RECALL_COLUMNS, then one row per piece found.

    Lines end with CRLF (RFC 4180); empty values are empty cells. Write it out unchanged
    (`newline=""`, UTF-8) so every face gives the same bytes. Raises nothing.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(RECALL_COLUMNS)
    for car in recall.cars:
        writer.writerow(_cell(getattr(car, column)) for column in RECALL_COLUMNS)
    return buffer.getvalue()


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return value
