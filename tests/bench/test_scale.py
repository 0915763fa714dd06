"""`bench/scale.py` on a tiny store: it builds once, reuses the store, prints its table and JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCALE = Path(__file__).parents[2] / "bench" / "scale.py"
QUESTIONS = [
    "unit history",
    "vin trace",
    "lot recall",
    "serial trace",
    "day KPIs",
    "shift KPIs by station",
    "ramp",
    "milestones",
    "milestone plan",
    "stock",
    "board",
]


def run_scale(workdir: Path, *options: str) -> tuple[str, dict[str, Any]]:
    """Run the bench on a 300-car SQLite store; its printed text and its JSON figures."""
    command = [sys.executable, str(SCALE), "--cars", "300", "--backend", "sqlite"]
    done = subprocess.run(
        [*command, "--repeat", "2", "--workdir", str(workdir), "--json", *options],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text, _, last_line = done.stdout.rstrip().rpartition("\n")
    return text, json.loads(last_line)


def table_rows(text: str) -> dict[str, list[str]]:
    """The table's rows by question: [goal, figure, met]."""
    rows = [line.split(" | ") for line in text.splitlines() if " | " in line]
    return {cells[0].strip(): [cell.strip() for cell in cells[1:]] for cells in rows}


@pytest.mark.slow
def test_it_builds_a_store_once_then_reuses_it_and_prints_goal_against_figure(
    tmp_path: Path,
) -> None:
    text, figures = run_scale(tmp_path)
    sqlite = figures["backends"]["sqlite"]
    assert figures["cars"] == 300
    assert sqlite["reused"] is False
    assert sqlite["cars"] == 300
    assert sqlite["events"] > 300 * 40  # every car at every station, with parts and checks
    assert sqlite["peak_rss_bytes"] > 0
    assert sqlite["bytes_per_event"] > 0
    timed = [name for name in sqlite["questions"] if name not in ("asked", "cpu ms")]
    assert sorted(timed) == sorted(QUESTIONS)
    assert sorted(sqlite["questions"]["cpu ms"]) == sorted(QUESTIONS)
    assert sqlite["questions"]["asked"]["lot cars"] > 0
    assert sqlite["rebuild_s"] > 0
    rows = table_rows(text)
    assert rows["question"] == ["goal", "figure", "met"]
    assert rows["vin trace"][0] == "<= 2 ms"
    assert rows["rebuild"][0] == "<= 5 min"
    assert rows["build (init + simulate --into-db)"][0] == "<= 10 min"
    assert {rows[name][2] for name in ("vin trace", "ramp", "board")} <= {"yes", "no"}
    assert rows["unit history"][2] == "-"  # no goal
    assert set(sqlite["goals_met"]) >= {"build", "vin trace", "lot recall", "rebuild"}

    again_text, again = run_scale(tmp_path, "--skip-rebuild")
    assert "reusing the store: 300 cars built" in again_text
    reused = again["backends"]["sqlite"]
    assert reused["reused"] is True
    assert reused["events"] == sqlite["events"]  # the build's figures are kept
    # --skip-rebuild shows the last rebuild's figures, kept beside the store, and when
    assert reused["rebuild_s"] == sqlite["rebuild_s"]
    assert f"(at {sqlite['rebuild_at']})" in table_rows(again_text)["rebuild"][1]
