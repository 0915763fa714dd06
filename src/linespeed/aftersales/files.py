"""The after-sales input files (CSV): deliveries, regions and the network plan.

- deliveries `month,deliveries`: month YYYY-MM, strictly increasing; deliveries a whole
  number >= 0.
- regions `region,share`: shares >= 0 summing to 1 (+- SHARE_TOLERANCE).
- network `region,month,bays,chargers`: the bays and chargers planned in a region from a
  month on (carried forward to later months until the region's next row).

The header names the columns in any order; blank lines are skipped; a byte-order mark is
read. Every problem names the file, the line and the field; all are reported at once (up
to MAX_PROBLEMS).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from linespeed.aftersales.errors import AftersalesFileError
from linespeed.csvfile import csv_rows, header_problems
from linespeed.errors import FileProblem, InputFileError
from linespeed.yamlfile import did_you_mean

MAX_FILE_BYTES: Final = 16 * 1024 * 1024
MAX_ROWS: Final = 100_000
MAX_PROBLEMS: Final = 50
MAX_COUNT: Final = 1_000_000_000
"""The largest number one field may hold (deliveries in a month, bays, chargers)."""
SHARE_TOLERANCE: Final = 0.001
FIRST_YEAR: Final = 1970
LAST_YEAR: Final = 2199
DELIVERY_COLUMNS: Final = ("month", "deliveries")
REGION_COLUMNS: Final = ("region", "share")
NETWORK_COLUMNS: Final = ("region", "month", "bays", "chargers")
_MONTH: Final = re.compile(r"([0-9]{4})-([0-9]{2})")
_WHOLE: Final = re.compile(r"[0-9]+")
_SHARE: Final = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_REGION: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def index(self) -> int:
        """Months since year 0: consecutive months differ by 1."""
        return self.year * 12 + self.month - 1

    @classmethod
    def from_index(cls, index: int) -> Month:
        """The month `index` months after January of year 0."""
        return cls(index // 12, index % 12 + 1)

    @classmethod
    def parse(cls, text: str) -> Month | None:
        """The month written YYYY-MM (1970 to 2199), or None."""
        match = _MONTH.fullmatch(text)
        if match is None:
            return None
        year, month = int(match.group(1)), int(match.group(2))
        if not (1 <= month <= 12 and FIRST_YEAR <= year <= LAST_YEAR):
            return None
        return cls(year, month)


@dataclass(frozen=True)
class Delivery:
    """Cars delivered in a month."""

    month: Month
    deliveries: int


@dataclass(frozen=True)
class Region:
    """A region and its share of deliveries."""

    region: str
    share: float


@dataclass(frozen=True)
class NetworkRow:
    """Bays and chargers planned in a region from a month on."""

    region: str
    month: Month
    bays: int
    chargers: int


DEFAULT_REGIONS: Final = (Region("all", 1.0),)
"""Without a regions file: one region, `all`, with every delivery."""

Record = Callable[[str, str], None]


def parse_deliveries(data: bytes, source: str) -> list[Delivery]:
    """The rows of a deliveries file, months strictly increasing.

    Raises AftersalesFileError (file:line:field) for a bad header, a month that is not
    YYYY-MM or not after the month above it, deliveries that are not a whole number >= 0,
    or a file with no rows.
    """
    found: list[Delivery] = []
    previous: Month | None = None

    def read(values: dict[str, str], record: Record, line: int) -> None:
        nonlocal previous
        month = _month(values["month"], "month", record)
        count = _count(values["deliveries"], "deliveries", record)
        if month is not None and previous is not None and month <= previous:
            record(
                "month",
                f"{month} is not after {previous} above it (months strictly increasing)",
            )
            return
        if month is not None:
            previous = month
        if month is not None and count is not None:
            found.append(Delivery(month, count))

    _read(data, source, DELIVERY_COLUMNS, read)
    return found


def parse_regions(data: bytes, source: str) -> list[Region]:
    """The rows of a regions file: shares >= 0 summing to 1 (+- SHARE_TOLERANCE).

    Raises AftersalesFileError (file:line:field) for a bad header, a region named twice or
    not [A-Za-z0-9_.-], a share that is not a number >= 0, or shares whose sum is not 1
    (that problem names the file and the sum).
    """
    found: list[Region] = []
    seen: dict[str, int] = {}
    line_of: list[int] = []

    def read(values: dict[str, str], record: Record, line: int) -> None:
        region = _region(values["region"], record)
        share = _share(values["share"], record)
        if region is not None and region in seen:
            record("region", f"{region!r} is named twice (also on line {seen[region]})")
            return
        if region is not None:
            seen[region] = line
        if region is not None and share is not None:
            found.append(Region(region, share))
            line_of.append(line)

    _read(data, source, REGION_COLUMNS, read)
    total = sum(region.share for region in found)
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise AftersalesFileError(
            [
                FileProblem(
                    source,
                    None,
                    "share",
                    f"the shares sum to {total:.6g}; they must sum to 1 (+- {SHARE_TOLERANCE})",
                )
            ]
        )
    return found


def parse_network(data: bytes, source: str, regions: Sequence[Region]) -> list[NetworkRow]:
    """The rows of a network file, each region one of `regions`.

    Raises AftersalesFileError (file:line:field) for a bad header, an unknown region, a
    month that is not YYYY-MM, bays or chargers that are not whole numbers >= 0, or the
    same region and month twice.
    """
    names = [region.region for region in regions]
    found: list[NetworkRow] = []
    seen: dict[tuple[str, Month], int] = {}

    def read(values: dict[str, str], record: Record, line: int) -> None:
        region: str | None = values["region"]
        if region not in names:
            record(
                "region",
                f"unknown region {region!r}{did_you_mean(region or '', names)}; the regions "
                f"are {', '.join(names)}",
            )
            region = None
        month = _month(values["month"], "month", record)
        bays = _count(values["bays"], "bays", record)
        chargers = _count(values["chargers"], "chargers", record)
        if region is None or month is None or bays is None or chargers is None:
            return
        if (region, month) in seen:
            record(
                "month",
                f"{region} {month} is planned twice (also on line {seen[(region, month)]})",
            )
            return
        seen[(region, month)] = line
        found.append(NetworkRow(region, month, bays, chargers))

    _read(data, source, NETWORK_COLUMNS, read)
    return found


def _read(
    data: bytes,
    source: str,
    columns: tuple[str, ...],
    read: Callable[[dict[str, str], Record, int], None],
) -> None:
    """Checks the bytes and the header, then calls `read(values, record[, line])` per row."""

    def fail(line: int | None, field: str, message: str) -> AftersalesFileError:
        return AftersalesFileError([FileProblem(source, line, field, message)])

    header_text = ",".join(columns)
    if len(data) > MAX_FILE_BYTES:
        raise fail(None, "", f"the file has {len(data):,} bytes; at most {MAX_FILE_BYTES:,}")
    if not data.decode("utf-8-sig", errors="replace").strip() and b"\x00" not in data:
        raise fail(1, "", f"the file is empty; its first line is the header {header_text}")
    rows = [
        (line, row) for line, row in csv_rows(data, fail) if any(value.strip() for value in row)
    ]
    if not rows:
        raise fail(1, "", f"the file has no header; its first line is the header {header_text}")
    header_line, header = rows[0]
    names, problems = header_problems(header, columns, source, header_line)
    if problems:
        raise AftersalesFileError(problems)
    if len(rows) == 1:
        raise fail(header_line + 1, "", "no rows under the header")
    if len(rows) - 1 > MAX_ROWS:
        raise fail(None, "", f"{len(rows) - 1:,} rows; at most {MAX_ROWS:,}")
    for number, fields in rows[1:]:
        if len(problems) >= MAX_PROBLEMS:
            break
        if len(fields) != len(names):
            problems.append(
                FileProblem(
                    source, number, "", f"{len(fields)} fields; the header has {len(names)}"
                )
            )
            continue
        values = {name: value.strip() for name, value in zip(names, fields, strict=True)}

        def record(field: str, message: str, line: int = number) -> None:
            problems.append(FileProblem(source, line, field, message))

        read(values, record, number)
    if problems:
        raise AftersalesFileError(problems[:MAX_PROBLEMS])


def _month(text: str, field: str, record: Record) -> Month | None:
    month = Month.parse(text)
    if month is None:
        record(field, f"{text!r} is not a month YYYY-MM ({FIRST_YEAR} to {LAST_YEAR})")
    return month


def _count(text: str, field: str, record: Record) -> int | None:
    if not _WHOLE.fullmatch(text):
        record(field, f"{text!r} is not a whole number >= 0")
        return None
    if len(text) > 12 or int(text) > MAX_COUNT:
        record(field, f"{text} is more than {MAX_COUNT:,}")
        return None
    return int(text)


def _share(text: str, record: Record) -> float | None:
    if not _SHARE.fullmatch(text):
        record("share", f"{text!r} is not a number")
        return None
    share = float(text)
    if share < 0:
        record("share", f"{text} is below 0; a share is from 0 to 1")
        return None
    if share > 1:
        record("share", f"{text} is above 1; a share is from 0 to 1")
        return None
    return share


def _region(text: str, record: Record) -> str | None:
    if not _REGION.fullmatch(text):
        record("region", f"{text!r} is not a region name (letters, digits, _ . -; up to 64)")
        return None
    return text


def read_input(path: Path) -> bytes:
    """The bytes of an input file. Raises InputFileError if it cannot be read or is larger
    than MAX_FILE_BYTES."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputFileError(
                str(path), f"the file has {size:,} bytes; at most {MAX_FILE_BYTES:,}"
            )
        return path.read_bytes()
    except OSError as error:
        raise InputFileError(str(path), error.strerror or str(error)) from None
