"""The production plan file (CSV, DESIGN.md contract 2b): read and checked against the plant.

`date,line,shift,model,quantity`, one row per planned day (and shift and model; an empty
`shift` is every shift of the plant, an empty `model` every model). Every problem names
the file, the line and the field; all are reported at once (up to MAX_PROBLEMS).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final, TypeAlias

from linespeed.csvfile import csv_rows, header_problems
from linespeed.errors import FileProblem, LinespeedError
from linespeed.plant.model import Plant
from linespeed.yamlfile import did_you_mean

COLUMNS: Final = ("date", "line", "shift", "model", "quantity")
"""The plan file's columns (the header names them, in any order)."""
MAX_PLAN_BYTES: Final = 16 * 1024 * 1024
"""The largest plan file read (16 MiB: decades of a big plant's plan)."""
MAX_ROWS: Final = 500_000
MAX_QUANTITY: Final = 1_000_000
"""The most cars one row may plan (a plant builds fewer in a shift)."""
MAX_PROBLEMS: Final = 50
FIRST_DAY: Final = date(1970, 1, 1)
LAST_DAY: Final = date(2199, 12, 31)
"""Plan dates lie inside the times a report can cover (as `kpi`'s window)."""
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WHOLE: Final = re.compile(r"[0-9]+")
Problem: TypeAlias = Callable[[str, str], None]
"""Records a problem with one field of the row being read: (field, message)."""


class PlanFileError(LinespeedError):
    """A plan file is unreadable or breaks the plan contract; lists every problem found.

    The code is `plan.invalid`; each problem names its file, line and field.
    """

    code = "plan.invalid"

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


@dataclass(frozen=True)
class PlanRow:
    """One planned quantity: a day, a line, a shift (None: every shift), a model (None: all)."""

    day: date
    line: str
    shift: str | None
    model: str | None
    quantity: int


def parse_plan(data: bytes, plant: Plant, source: str) -> list[PlanRow]:
    """The rows of the plan file `data` (named `source` in messages), checked against `plant`.

    Raises PlanFileError (plan.invalid) listing every problem, each with file:line:field:
    a file that is empty, larger than MAX_PLAN_BYTES, not UTF-8 or holding NUL; a header
    missing a column or naming another; a row with too many or too few fields; a date that
    is not YYYY-MM-DD (or outside 1970 to 2199); an unknown line, shift or model; a
    quantity that is not a whole number from 0 to MAX_QUANTITY; the same (date, line,
    shift, model) twice; a day and line planned both for every shift and for named ones
    (or for every model and for named ones); more than MAX_ROWS rows, or none.
    """

    def fail(line: int | None, field: str, message: str) -> PlanFileError:
        return PlanFileError([FileProblem(source, line, field, message)])

    if len(data) > MAX_PLAN_BYTES:
        raise fail(
            None,
            "",
            f"the file has {len(data):,} bytes; a plan file has at most {MAX_PLAN_BYTES:,}",
        )
    if not data.strip():
        raise fail(1, "", f"the file is empty; its first line is the header {','.join(COLUMNS)}")
    rows = csv_rows(data, fail)
    header_line, header = rows[0]
    order = _header(header, source, header_line)
    return _rows(rows[1:], order, plant, source)


def _header(header: list[str], source: str, line: int) -> list[str]:
    names, problems = header_problems(header, COLUMNS, source, line)
    if problems:
        raise PlanFileError(problems)
    return names


def _rows(
    rows: list[tuple[int, list[str]]], order: list[str], plant: Plant, source: str
) -> list[PlanRow]:
    problems: list[FileProblem] = []
    found: list[PlanRow] = []
    seen: dict[tuple[date, str, str | None, str | None], int] = {}
    shifts = [shift.name for shift in plant.shifts]
    for number, fields in rows:
        if len(problems) >= MAX_PROBLEMS:
            break
        if not fields or all(not value.strip() for value in fields):
            continue  # a blank line
        if len(fields) != len(order):
            problems.append(
                FileProblem(
                    source, number, "", f"{len(fields)} fields; the header has {len(order)}"
                )
            )
            continue
        values = {name: value.strip() for name, value in zip(order, fields, strict=True)}
        mine: list[FileProblem] = []
        problem = _recorder(mine, source, number)
        day = _day(values["date"], problem)
        line_id = values["line"]
        if line_id not in plant.lines_by_id:
            problem("line", f"unknown line {line_id!r}{did_you_mean(line_id, plant.lines_by_id)}")
        shift = values["shift"] or None
        if shift is not None and shift not in shifts:
            known = ", ".join(shifts) or "none"
            problem(
                "shift",
                f"unknown shift {shift!r}{did_you_mean(shift, shifts)}; the "
                f"plant's shifts: {known}",
            )
        model = values["model"] or None
        if model is not None and model not in plant.models_by_id:
            problem("model", f"unknown model {model!r}{did_you_mean(model, plant.models_by_id)}")
        quantity = _quantity(values["quantity"], problem)
        if day is not None and not mine and quantity is not None:
            key = (day, line_id, shift, model)
            if key in seen:
                problem(
                    "date",
                    f"{day} {line_id} shift {shift or '(all)'} model "
                    f"{model or '(all)'} is planned twice (also on line {seen[key]})",
                )
            else:
                seen[key] = number
                found.append(PlanRow(day, line_id, shift, model, quantity))
        problems += mine
    if len(found) > MAX_ROWS:
        problems.append(FileProblem(source, None, "", f"{len(found):,} rows; at most {MAX_ROWS:,}"))
    problems += _mixed(found, seen, source)
    if problems:
        raise PlanFileError(problems[:MAX_PROBLEMS])
    if not found:
        raise PlanFileError([FileProblem(source, 2, "", "no plan rows under the header")])
    return found


def _recorder(problems: list[FileProblem], source: str, line: int) -> Problem:
    def record(field: str, message: str) -> None:
        problems.append(FileProblem(source, line, field, message))

    return record


def _day(text: str, problem: Problem) -> date | None:
    if not _DATE.fullmatch(text):
        problem("date", f"{text!r} is not a date YYYY-MM-DD")
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        problem("date", f"{text!r} is not a date YYYY-MM-DD (no such day)")
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        problem("date", f"{text} is outside {FIRST_DAY} to {LAST_DAY}")
        return None
    return day


def _quantity(text: str, problem: Problem) -> int | None:
    if not _WHOLE.fullmatch(text):
        problem("quantity", f"{text!r} is not a whole number >= 0")
        return None
    if len(text) > 12 or int(text) > MAX_QUANTITY:
        problem("quantity", f"{text} is more than {MAX_QUANTITY:,} cars in one row")
        return None
    return int(text)


def _mixed(
    found: list[PlanRow],
    seen: dict[tuple[date, str, str | None, str | None], int],
    source: str,
) -> list[FileProblem]:
    """A day and line planned for every shift and for named shifts, or for every model and
    for named models: which rows would count twice is not clear."""
    problems: list[FileProblem] = []
    whole_shift = {(r.day, r.line) for r in found if r.shift is None}
    whole_model = {(r.day, r.line) for r in found if r.model is None}
    for row in found:
        line = seen[(row.day, row.line, row.shift, row.model)]
        if row.shift is not None and (row.day, row.line) in whole_shift:
            problems.append(
                FileProblem(
                    source,
                    line,
                    "shift",
                    f"{row.day} {row.line} is planned for every shift (an empty shift) on "
                    f"another row and for shift {row.shift!r} here",
                )
            )
        if row.model is not None and (row.day, row.line) in whole_model:
            problems.append(
                FileProblem(
                    source,
                    line,
                    "model",
                    f"{row.day} {row.line} is planned for every model (an empty model) on "
                    f"another row and for model {row.model!r} here",
                )
            )
    return problems


def plan_csv(rows: Iterable[PlanRow]) -> str:
    """The plan file of `rows` (header first, one row a line): what `parse_plan` reads back."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [row.day.isoformat(), row.line, row.shift or "", row.model or "", row.quantity]
        )
    return buffer.getvalue()
