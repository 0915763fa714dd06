"""`linespeed aftersales plan` from files: the table, the gaps, JSON, the picture, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result

DELIVERIES = "month,deliveries\n2025-01,12000\n2025-02,0\n2025-03,4000\n"
REGIONS = "region,share\neu,0.75\nus,0.25\n"
NETWORK = "region,month,bays,chargers\neu,2025-01,3,80\nus,2025-02,1,50\neu,2025-03,4,200\n"


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example files in the test's folder, which is the working directory."""
    monkeypatch.chdir(tmp_path)
    for name, text in (
        ("deliveries.csv", DELIVERIES),
        ("regions.csv", REGIONS),
        ("network.csv", NETWORK),
    ):
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "hand.yaml").write_text(
        "retention: 1\nvisits_per_vehicle_year: 0.6\nshifts_per_day: 1\ndays_per_month: 20\n",
        encoding="utf-8",
    )
    return tmp_path


def test_json_with_network(files: Path, run: Callable[..., Result]) -> None:
    result = run(
        "aftersales", "plan", "--deliveries", "deliveries.csv", "--regions", "regions.csv",
        "--network", "network.csv", "--params", "hand.yaml", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = result.json()["rows"]
    assert [set(row) for row in rows] == [
        {
            "month", "region", "vehicles", "bays_needed", "chargers_needed",
            "bays_planned", "chargers_planned",
        }
    ] * 6  # fmt: skip
    assert [(r["month"], r["region"], r["vehicles"], r["bays_needed"]) for r in rows] == [
        ("2025-01", "eu", 9000, 8),
        ("2025-01", "us", 3000, 3),
        ("2025-02", "eu", 9000, 8),
        ("2025-02", "us", 3000, 3),
        ("2025-03", "eu", 12000, 10),
        ("2025-03", "us", 4000, 4),
    ]
    assert [(r["bays_planned"], r["chargers_planned"]) for r in rows] == [
        (3, 80), (0, 0), (3, 80), (1, 50), (4, 200), (1, 50),
    ]  # fmt: skip


def test_text_lists_the_gaps_and_the_plot_is_written(
    files: Path, run: Callable[..., Result]
) -> None:
    result = run(
        "aftersales", "plan", "--deliveries", "deliveries.csv", "--regions", "regions.csv",
        "--network", "network.csv", "--params", "hand.yaml", "--plot", "plan.png",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    gaps = result.stdout.split("gaps: needed beyond planned")[1]
    lines = [line.split() for line in gaps.splitlines() if "20" in line]
    assert [[cell for cell in line if cell not in "│┃"] for line in lines] == [
        ["eu", "2025-01", "5", "10"],
        ["eu", "2025-02", "5", "10"],
        ["eu", "2025-03", "6", "0"],
        ["us", "2025-01", "3", "30"],
        ["us", "2025-02", "2", "0"],
        ["us", "2025-03", "3", "0"],
    ]
    assert "wrote plan.png" in result.stdout
    assert (files / "plan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_network_no_gaps(files: Path, run: Callable[..., Result]) -> None:
    result = run("aftersales", "plan", "--deliveries", "deliveries.csv", "--json")
    assert result.exit_code == 0
    rows = result.json()["rows"]
    assert {r["region"] for r in rows} == {"all"}
    assert all(r["bays_planned"] is None and r["chargers_planned"] is None for r in rows)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "give either --deliveries FILE.csv or --from-store"),
        (("--deliveries", "deliveries.csv", "--from-store"), "give either --deliveries"),
        (("--deliveries", "deliveries.csv", "--until", "2025-13"), "--until '2025-13' is not"),
        (("--deliveries", "missing.csv"), "missing.csv: No such file or directory"),
        (("--deliveries", "regions.csv"), "regions.csv:1: month: missing column 'month'"),
        (
            ("--deliveries", "deliveries.csv", "--network", "network.csv"),
            "network.csv:2: region: unknown region 'eu'; the regions are all",
        ),
        (
            ("--deliveries", "deliveries.csv", "--params", "regions.csv"),
            "regions.csv:1: is not a mapping of parameter: value",
        ),
    ],
)
def test_errors_exit_1(
    files: Path, run: Callable[..., Result], args: tuple[str, ...], expected: str
) -> None:
    result = run("aftersales", "plan", *args)
    assert result.exit_code == 1
    assert expected in result.stderr
