"""Event files: JSONL (one event per line) and CSV (one event per row), streamed in batches."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Final

import msgspec

from linespeed.errors import InputFileError
from linespeed.events.types import EVENT_TYPES
from linespeed.ingest.core import DEFAULT_BATCH_SIZE, Ingestor, IngestReport, RawEvent, batched

CSV_REQUIRED_COLUMNS: Final = ("id", "ts", "kind")
CSV_COLUMNS: Final = frozenset(
    {"kind"} | {name for cls in EVENT_TYPES for name in cls.__struct_fields__}
)
_PROGRESS_STEP: Final = 1 << 20
_CSV_NUMBERS: Final = frozenset({"value"})
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

    Empty cells are absent fields; `value` is read as a number. A row with the wrong
    number of cells or a bad number becomes a payload refused with reason `csv.row`.
    Raises InputFileError if the file cannot be opened or its header is not valid.
    """
    try:
        handle = path.open("r", encoding="utf-8", newline="")
    except OSError as error:
        raise InputFileError(str(path), f"cannot read: {error.strerror}") from None
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise InputFileError(str(path), "empty file: a CSV header is required", line=1)
        header = [name.strip() for name in header]
        _check_header(path, header)
        for row in reader:
            number = reader.line_num
            if progress is not None:
                progress(sum(len(cell) + 1 for cell in row))
            if not any(cell.strip() for cell in row):
                continue
            yield _csv_event(header, row, f"{path}:{number}")


def _check_header(path: Path, header: list[str]) -> None:
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


def _csv_event(header: list[str], row: list[str], source: str) -> RawEvent:
    if len(row) != len(header):
        return _csv_refusal(row, source, f"{len(row)} cells for {len(header)} columns")
    event: dict[str, object] = {}
    for name, cell in zip(header, row, strict=True):
        text = cell.strip()
        if not text:
            continue
        if name in _CSV_NUMBERS:
            try:
                event[name] = float(text)
            except ValueError:
                return _csv_refusal(row, source, f"{name}: {text!r} is not a number")
        else:
            event[name] = text
    return RawEvent(_encoder.encode(event), source)


def _csv_refusal(row: list[str], source: str, detail: str) -> RawEvent:
    text = io.StringIO()
    csv.writer(text, lineterminator="").writerow(row)
    return RawEvent(text.getvalue().encode(), source, refusal=("csv.row", detail))


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

    Raises InputFileError for a missing or unreadable file before anything is ingested.
    """
    for path in paths:
        if not path.is_file():
            raise InputFileError(str(path), "no such file")
    report = IngestReport()
    for path in paths:
        for batch in batched(read_events(path, progress), batch_size):
            report.add(ingestor.ingest(batch))
    return report
