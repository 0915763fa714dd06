"""The plan file: what it says, and every bad input refused with file:line:field."""

from __future__ import annotations

from datetime import date

import pytest

from linespeed.plant.model import Plant
from linespeed.supply.plan_file import MAX_PLAN_BYTES, PlanFileError, PlanRow, parse_plan

HEADER = "date,line,shift,model,quantity\n"


def problems(text: str | bytes, plant: Plant) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(PlanFileError) as raised:
        parse_plan(data, plant, "plan.csv")
    assert raised.value.code == "plan.invalid"
    return [str(problem) for problem in raised.value.problems]


def test_rows_with_and_without_shift_and_model(plant: Plant) -> None:
    text = (
        "\ufeffquantity, model ,date,shift,line\n"  # any column order, a BOM, spaces
        "120,s7,2025-07-01,A,l1\n"
        "\n"
        '"0",,2025-07-02,B,l1\n'
        "300,,2025-07-03,,l1\n"
    )
    assert parse_plan(text.encode(), plant, "plan.csv") == [
        PlanRow(date(2025, 7, 1), "l1", "A", "s7", 120),
        PlanRow(date(2025, 7, 2), "l1", "B", None, 0),
        PlanRow(date(2025, 7, 3), "l1", None, None, 300),
    ]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("2025-07-01,l11,A,s7,1", "plan.csv:2: line: unknown line 'l11' (did you mean 'l1'?)"),
        (
            "2025-07-01,l1,D,s7,1",
            "plan.csv:2: shift: unknown shift 'D'; the plant's shifts: A, B, C",
        ),
        ("2025-07-01,l1,A,z1,1", "plan.csv:2: model: unknown model 'z1'"),
        ("2025-07-01,l1,A,s7,-1", "plan.csv:2: quantity: '-1' is not a whole number >= 0"),
        ("2025-07-01,l1,A,s7,1.5", "plan.csv:2: quantity: '1.5' is not a whole number >= 0"),
        ("2025-07-01,l1,A,s7,ten", "plan.csv:2: quantity: 'ten' is not a whole number >= 0"),
        ("2025-07-01,l1,A,s7,", "plan.csv:2: quantity: '' is not a whole number >= 0"),
        (
            "2025-07-01,l1,A,s7,99999999999999999999",
            "plan.csv:2: quantity: 99999999999999999999 is more than 1,000,000 cars in one row",
        ),
        ("2025-7-1,l1,A,s7,1", "plan.csv:2: date: '2025-7-1' is not a date YYYY-MM-DD"),
        ("01/07/2025,l1,A,s7,1", "plan.csv:2: date: '01/07/2025' is not a date YYYY-MM-DD"),
        (
            "2025-02-30,l1,A,s7,1",
            "plan.csv:2: date: '2025-02-30' is not a date YYYY-MM-DD (no such day)",
        ),
        (
            "1969-12-31,l1,A,s7,1",
            "plan.csv:2: date: 1969-12-31 is outside 1970-01-01 to 2199-12-31",
        ),
        ("2025-07-01,l1,A", "plan.csv:2: 3 fields; the header has 5"),
        ("2025-07-01,l1,A,s7,1,2", "plan.csv:2: 6 fields; the header has 5"),
    ],
)
def test_each_bad_field_is_named_with_its_line(plant: Plant, row: str, expected: str) -> None:
    assert problems(HEADER + row + "\n", plant) == [expected]


def test_the_same_day_line_shift_and_model_twice(plant: Plant) -> None:
    text = HEADER + "2025-07-01,l1,A,s7,1\n2025-07-02,l1,A,s7,1\n2025-07-01,l1,A,s7,2\n"
    assert problems(text, plant) == [
        "plan.csv:4: date: 2025-07-01 l1 shift A model s7 is planned twice (also on line 2)"
    ]


def test_a_day_planned_for_every_shift_and_a_named_one(plant: Plant) -> None:
    text = HEADER + "2025-07-01,l1,,,100\n2025-07-01,l1,A,s7,50\n"
    assert problems(text, plant) == [
        "plan.csv:3: shift: 2025-07-01 l1 is planned for every shift (an empty shift) on "
        "another row and for shift 'A' here",
        "plan.csv:3: model: 2025-07-01 l1 is planned for every model (an empty model) on "
        "another row and for model 's7' here",
    ]


def test_every_problem_of_a_file_at_once(plant: Plant) -> None:
    text = HEADER + "2025-13-01,l2,A,s7,1\n2025-07-01,l1,A,s7,x\n"
    assert problems(text, plant) == [
        "plan.csv:2: date: '2025-13-01' is not a date YYYY-MM-DD (no such day)",
        "plan.csv:2: line: unknown line 'l2'",
        "plan.csv:3: quantity: 'x' is not a whole number >= 0",
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "date,line,shift,quantity",
            ["plan.csv:1: model: missing column 'model' in the header"],
        ),
        (
            "date,line,shift,model,quantity,note",
            [
                "plan.csv:1: note: unknown column 'note' in the header; the columns are "
                "date,line,shift,model,quantity"
            ],
        ),
        (
            "date,line,shift,model,quantity,date",
            ["plan.csv:1: date: column 'date' named twice in the header"],
        ),
    ],
)
def test_missing_and_extra_header_columns(plant: Plant, header: str, expected: list[str]) -> None:
    assert problems(header + "\n2025-07-01,l1,A,s7,1\n", plant) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b"",
            "plan.csv:1: the file is empty; its first line is the header "
            "date,line,shift,model,quantity",
        ),
        (
            b" \n\n",
            "plan.csv:1: the file is empty; its first line is the header "
            "date,line,shift,model,quantity",
        ),
        (HEADER.encode(), "plan.csv:2: no plan rows under the header"),
        (
            HEADER.encode() + b"2025-07-01,l1,A,s7,1\n2025-07-02,l1,A,s\x00,1\n",
            "plan.csv:3: holds a NUL character",
        ),
        (
            HEADER.encode() + b"2025-07-01,l1,A,s7,1\n2025-07-02,l1,A,s\xff,1\n",
            "plan.csv:3: is not UTF-8 text",
        ),
        (
            HEADER.encode() + b'2025-07-01,l1,A,"s7,1\n',
            "plan.csv:2: is not well-formed CSV: unexpected end of data",
        ),
    ],
)
def test_unreadable_files(plant: Plant, data: bytes, expected: str) -> None:
    assert problems(data, plant) == [expected]


def test_a_huge_file_is_refused_before_it_is_read(plant: Plant) -> None:
    data = HEADER.encode() + b"2025-07-01,l1,A,s7,1\n" * (MAX_PLAN_BYTES // 20)
    assert problems(data, plant) == [
        f"plan.csv: the file has {len(data):,} bytes; a plan file has at most {MAX_PLAN_BYTES:,}"
    ]
