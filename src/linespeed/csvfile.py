"""CSV files with file:line errors: the checks every CSV input of linespeed shares.

Used by the plan reader (`supply.plan_file`) and the after-sales readers
(`aftersales.files`): text that is UTF-8 without NUL, well-formed CSV, and a header naming
each expected column once and no other.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence

from linespeed.errors import FileProblem, LinespeedError

Fail = Callable[[int | None, str, str], LinespeedError]
"""Builds the caller's error for one problem: (line, field, message)."""


def csv_rows(data: bytes, fail: Fail) -> list[tuple[int, list[str]]]:
    """The rows of CSV `data` with their line numbers.

    Raises `fail(...)` for a NUL character, text that is not UTF-8 (a byte-order mark is
    allowed) or CSV that is not well formed, naming the line.
    """
    if b"\x00" in data:
        raise fail(data.count(b"\n", 0, data.index(b"\x00")) + 1, "", "holds a NUL character")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise fail(data.count(b"\n", 0, error.start) + 1, "", "is not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        return [(reader.line_num, row) for row in reader]
    except csv.Error as error:
        raise fail(reader.line_num, "", f"is not well-formed CSV: {error}") from None


def header_problems(
    header: Sequence[str], columns: Sequence[str], source: str, line: int
) -> tuple[list[str], list[FileProblem]]:
    """The header's column names (trimmed, lower case) and what is wrong with them: a
    column of `columns` missing, a column not among them, a column named twice."""
    names = [name.strip().lower() for name in header]
    problems = [
        FileProblem(source, line, name, f"missing column {name!r} in the header")
        for name in columns
        if name not in names
    ]
    problems += [
        FileProblem(
            source,
            line,
            name or "(empty)",
            f"unknown column {name!r} in the header; the columns are {','.join(columns)}",
        )
        for name in names
        if name not in columns
    ]
    problems += [
        FileProblem(source, line, name, f"column {name!r} named twice in the header")
        for index, name in enumerate(names)
        if name in columns and name in names[:index]
    ]
    return names, problems
