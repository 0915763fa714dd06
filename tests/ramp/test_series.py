"""Reading a series from CSV: both formats, and every bad input with its own message."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from linespeed.errors import LinespeedError
from linespeed.ramp.errors import RampForecastError, RampInputError
from linespeed.ramp.forecast import forecast_target
from linespeed.ramp.series import read_series_csv, series_from_counts


def write(tmp_path: Path, text: str, name: str = "ramp.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_cumulative_file_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "date,cumulative\n2024-01-31,100\n\n2024-02-29, 250\n2024-03-31,250\n")
    series = read_series_csv(path)
    assert series.pairs() == [
        (date(2024, 1, 31), 100.0),
        (date(2024, 2, 29), 250.0),
        (date(2024, 3, 31), 250.0),
    ]
    assert series.name == "ramp" and series.metric == "unspecified" and series.sop is None
    assert series.points[1].source == f"{path}:4"
    assert series.legend == "ramp (metric unspecified)"


def test_a_period_file_is_accumulated(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffperiod_end,quantity\n2024-03-31,260\n2024-06-30,2425\n")
    series = read_series_csv(path, metric="produced", sop=date(2024, 1, 7))
    assert series.pairs() == [(date(2024, 3, 31), 260.0), (date(2024, 6, 30), 2685.0)]
    assert series.legend == "ramp (production)"
    assert series.start == date(2024, 1, 7)


BAD_FILES = [
    ("", "{file}: is empty: expected a header `date,cumulative` or `period_end,quantity`"),
    ("\n  \n", "{file}: is empty: expected a header `date,cumulative` or `period_end,quantity`"),
    (
        "day,total\n2024-01-01,5\n",
        "{file}:1: unknown header 'day,total': expected `date,cumulative` or "
        "`period_end,quantity` (names exactly these)",
    ),
    (
        "Date,Cumulative\n2024-01-01,5\n",
        "{file}:1: unknown header 'Date,Cumulative': expected `date,cumulative` or "
        "`period_end,quantity` (names exactly these)",
    ),
    ("date,cumulative\n", "{file}:1: has a header but no data rows"),
    (
        "date,cumulative\n2024-02-01,5\n2024-01-01,7\n",
        "{file}:3: date 2024-01-01 is not after 2024-02-01 on the row before: "
        "dates must be sorted, one row per date",
    ),
    (
        "date,cumulative\n2024-02-01,5\n2024-02-01,7\n",
        "{file}:3: date 2024-02-01 is not after 2024-02-01 on the row before: "
        "dates must be sorted, one row per date",
    ),
    (
        "date,cumulative\n2024-01-01,5\n2024-02-01,7\n2024-03-01,6\n",
        "{file}:4: cumulative 6 is less than 7 on the row before: "
        "a cumulative count cannot decrease",
    ),
    ("date,cumulative\n2024-01-01,-1\n", "{file}:2: cumulative -1 is negative"),
    (
        "period_end,quantity\n2024-01-31,5\n2024-02-29,-3\n",
        "{file}:3: quantity -3 is negative",
    ),
    (
        "date,cumulative\n2024-01-01,5\n01/02/2024,7\n",
        "{file}:3: date '01/02/2024' is not a date (expected YYYY-MM-DD)",
    ),
    (
        "date,cumulative\n2024-02-30,5\n",
        "{file}:2: date '2024-02-30' is not a date (expected YYYY-MM-DD)",
    ),
    (
        "period_end,quantity\n2024-01-31,\n",
        "{file}:2: quantity '' is not a number",
    ),
    (
        "date,cumulative\n2024-01-01,12k\n",
        "{file}:2: cumulative '12k' is not a number",
    ),
    ("date,cumulative\n2024-01-01,nan\n", "{file}:2: cumulative 'nan' is not a number"),
    (
        "date,cumulative\n2024-01-01,5,6\n",
        "{file}:2: expected 2 values (date,cumulative), got 3",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_bad_files_are_refused_with_file_line_and_value(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RampInputError) as caught:
        read_series_csv(path)
    assert str(caught.value) == message.format(file=path)
    assert caught.value.code == "ramp.input"
    assert isinstance(caught.value, LinespeedError)
    assert caught.value.file == str(path)


def test_the_bad_value_is_kept_on_the_error(tmp_path: Path) -> None:
    path = write(tmp_path, "date,cumulative\n2024-01-01,5\n2024-02-01,oops\n")
    with pytest.raises(RampInputError) as caught:
        read_series_csv(path)
    assert (caught.value.line, caught.value.value) == (3, "oops")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    with pytest.raises(RampInputError, match=r"absent\.csv: no such file"):
        read_series_csv(path)


def test_a_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"date,cumulative\n\xff\xfe\n")
    with pytest.raises(RampInputError, match=r"binary\.csv: is not UTF-8 text"):
        read_series_csv(path)


def test_too_few_points_in_a_file_names_the_file_and_the_count(tmp_path: Path) -> None:
    path = write(tmp_path, "date,cumulative\n2024-01-31,100\n2024-02-29,250\n")
    with pytest.raises(RampForecastError) as caught:
        forecast_target(read_series_csv(path), 1000)
    assert caught.value.code == "ramp.too_few_points"
    assert str(caught.value).startswith(f"{path}: a forecast needs at least 3 points")
    assert str(caught.value).endswith("it has 2")


def test_a_target_already_reached_in_a_file_says_when(tmp_path: Path) -> None:
    path = write(tmp_path, "period_end,quantity\n2024-01-31,100\n2024-02-29,250\n")
    with pytest.raises(RampForecastError) as caught:
        forecast_target(read_series_csv(path), 350)
    assert str(caught.value) == (
        f"{path}: target 350 was already reached on 2024-02-29; the last point is 350 on 2024-02-29"
    )


def test_counts_per_day_become_a_cumulative_series() -> None:
    days = [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 4)]
    series = series_from_counts(days, [3, 0, 5], label="Plant yz1")
    assert series.pairs() == [(days[0], 3.0), (days[1], 3.0), (days[2], 8.0)]
    assert series.legend == "Plant yz1 (production)" and series.sop == days[0]
    with pytest.raises(RampInputError, match="store:2: count -1 is negative"):
        series_from_counts(days[:2], [3, -1])
