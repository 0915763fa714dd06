"""Event files: JSONL (one event per line) and CSV (one event per row), streamed in batches."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Final

import msgspec

from linespeed.errors import InputFileError
from linespeed.events.types import EVENT_TYPES
from linespeed.ingest.core import (
    DEFAULT_BATCH_SIZE,
    Ingestor,
    IngestReport,
    RawEvent,
    batched,
    ingest_counted,
)

CSV_REQUIRED_COLUMNS: Final = ("id", "ts", "kind")
CSV_COLUMNS: Final = frozenset(
    {"kind"} | {name for cls in EVENT_TYPES for name in cls.__struct_fields__}
)
_PROGRESS_STEP: Final = 1 << 20
_CSV_NUMBERS: Final = frozenset({"value"})
_CSV_WHOLE_NUMBERS: Final = frozenset({"quantity"})
_CSV_BOOLS: Final = frozenset({"correction"})
"""Cells that hold true or false."""
_CSV_LISTS: Final = frozenset({"serials"})
"""Cells that hold a list: its items separated by spaces (or semicolons)."""
_encoder: Final = msgspec.json.Encoder()

ProgressCallback = Callable[[int], None]
"""Called with the number of bytes read since the last call."""


def read_jsonl(path: Path, progress: ProgressCallback | None = None) -> Iterator[RawEvent]:
    """The events of a JSONL file, one per non-blank line, tagged `file:line`.

    Raises InputFileError if the file cannot be opened.
    """
    try:
        handle = path.open("rb")
    except OSError as error:
        raise InputFileError(str(path), f"cannot read: {error.strerror}") from None
    unreported = 0
    prefix = f"{path}:"
    with handle:
        for number, line in enumerate(handle, start=1):
            unreported += len(line)
            if progress is not None and unreported >= _PROGRESS_STEP:
                progress(unreported)
                unreported = 0
            payload = line.strip()
            if payload:
                yield RawEvent(payload, prefix + str(number))
    if progress is not None and unreported:
        progress(unreported)


def read_csv(path: Path, progress: ProgressCallback | None = None) -> Iterator[RawEvent]:
    """The events of a CSV file with a header of event field names, one per row.

    Empty cells are absent fields; `value` is read as a number, `quantity` as a whole
    number, `serials` as a list separated by spaces or semicolons, `correction` as true or
    false. A row with the wrong number of cells, a bad number or bytes that are not UTF-8
    becomes a payload refused with reason `csv.row`. Raises InputFileError if the file
    cannot be opened or its header is not valid.
    """
    with _open_csv(path) as handle:
        reader = csv.reader(handle)
        header = _read_header(path, reader)
        for row in reader:
            number = reader.line_num
            if progress is not None:
                progress(sum(len(cell) + 1 for cell in row))
            if not any(cell.strip() for cell in row):
                continue
            yield _csv_event(header, row, f"{path}:{number}")


def _open_csv(path: Path) -> io.TextIOWrapper:
    try:
        # utf-8-sig: spreadsheet programs often start CSV files with a byte-order mark
        return path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as error:
        raise InputFileError(str(path), f"cannot read: {error.strerror}") from None


def _read_header(path: Path, reader: Iterator[list[str]]) -> list[str]:
    header = next(reader, None)
    if header is None:
        raise InputFileError(str(path), "empty file: a CSV header is required", line=1)
    header = [name.strip() for name in header]
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        raise InputFileError(
            str(path), f"unknown column(s) {', '.join(map(repr, unknown))} in the header", line=1
        )
    missing = [name for name in CSV_REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InputFileError(str(path), f"header lacks column(s) {', '.join(missing)}", line=1)
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise InputFileError(str(path), f"column(s) {', '.join(duplicated)} repeated", line=1)
    return header


def _csv_event(header: list[str], row: list[str], source: str) -> RawEvent:
    event_id = row[header.index("id")].strip() if len(row) == len(header) else None
    if event_id is not None:  # shown in dead letters: invalid UTF-8 escaped
        event_id = event_id.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if len(row) != len(header):
        return _csv_refusal(row, source, f"{len(row)} cells for {len(header)} columns", None)
    event: dict[str, object] = {}
    for name, cell in zip(header, row, strict=True):
        text = cell.strip()
        if not text:
            continue
        try:
            text.encode()
        except UnicodeEncodeError:
            return _csv_refusal(row, source, f"{name}: not UTF-8 text", event_id)
        if name in _CSV_WHOLE_NUMBERS:
            if not re.fullmatch(r"[+-]?[0-9]{1,18}", text):
                return _csv_refusal(
                    row, source, f"{name}: {text!r} is not a whole number", event_id
                )
            event[name] = int(text)
        elif name in _CSV_LISTS:
            event[name] = text.replace(";", " ").split()
        elif name in _CSV_BOOLS:
            if text.lower() not in ("true", "false"):
                return _csv_refusal(row, source, f"{name}: {text!r} is not true or false", event_id)
            event[name] = text.lower() == "true"
        elif name in _CSV_NUMBERS:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                return _csv_refusal(
                    row, source, f"{name}: {text!r} is not a finite number", event_id
                )
            event[name] = number
        else:
            event[name] = text
    return RawEvent(_encoder.encode(event), source)


def _csv_refusal(row: list[str], source: str, detail: str, event_id: str | None) -> RawEvent:
    text = io.StringIO()
    csv.writer(text, lineterminator="").writerow(row)
    payload = text.getvalue().encode("utf-8", errors="surrogateescape")
    return RawEvent(payload, source, refusal=("csv.row", detail), event_id=event_id or None)


def check_readable(path: Path) -> None:
    """Check that an event file exists, can be read and (for CSV) has a valid header.

    Raises InputFileError naming the file and what is wrong.
    """
    if not path.is_file():
        raise InputFileError(str(path), "no such file")
    if path.suffix.lower() == ".csv":
        with _open_csv(path) as handle:
            _read_header(path, csv.reader(handle))
        return
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as error:
        raise InputFileError(str(path), f"cannot read: {error.strerror}") from None


def read_events(path: Path, progress: ProgressCallback | None = None) -> Iterator[RawEvent]:
    """The events of a `.csv` file, or of a JSONL file (any other name).

    Raises InputFileError if the file cannot be read.
    """
    if path.suffix.lower() == ".csv":
        return read_csv(path, progress)
    return read_jsonl(path, progress)


def ingest_files(
    ingestor: Ingestor,
    paths: Sequence[Path],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Ingest event files in order, one transaction per batch.

    Raises InputFileError for a missing or unreadable file, or a CSV file with a bad
    header, before anything is ingested; IngestStoppedError if the store fails part-way.
    """
    for path in paths:
        check_readable(path)
    batches = (
        batch for path in paths for batch in batched(read_events(path, progress), batch_size)
    )
    return ingest_counted(ingestor, batches)
