"""Every question a user waits on reads index ranges: EXPLAIN on SQLite and PostgreSQL.

No question may scan the whole event log. Questions about one car, one lot or one serial
may scan no growing table at all; the ramp reads every completed car by design (the whole
curve), so it alone may read all of `units`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from linespeed.ramp.milestones import milestones_reached, plan_milestone
from linespeed.ramp.report import ramp_report
from linespeed.store.deadletters import list_dead_letters
from linespeed.trace import missing_parts, part_recall, unit_history, vin_trace
from tests.plans import full_scans

WHOLE_CURVE = {"ramp": {"units"}, "trace missing": {"units"}}
"""The ramp reads the whole curve; `trace missing` every built car (for the parts each lacks)."""


def _questions(store: Engine, stream: list[dict[str, Any]]) -> dict[str, Callable[[], object]]:
    vin = next(e["vin"] for e in stream if e["kind"] == "unit.completed")
    lot = next(e for e in stream if e["kind"] == "part.installed" and "lot" in e)
    serial = next(e for e in stream if e["kind"] == "part.installed" and "serial" in e)
    return {
        "unit": lambda: unit_history(store, vin),
        "trace vin": lambda: vin_trace(store, vin),
        "trace lot": lambda: part_recall(store, lot["part"], lots=[lot["lot"]]),
        "trace lot shipped": lambda: part_recall(
            store, lot["part"], lots=[lot["lot"]], status="shipped"
        ),
        "trace serial": lambda: part_recall(store, serial["part"], serial=serial["serial"]),
        "trace supplier": lambda: part_recall(store, serial["part"], supplier=serial["supplier"]),
        "milestones": lambda: milestones_reached(store),
        "milestone plan": lambda: plan_milestone(store, 1000),
        "ramp": lambda: ramp_report(store),
        "dead letters": lambda: list_dead_letters(store),
        "trace missing": lambda: missing_parts(store),
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "unit",
        "trace vin",
        "trace lot",
        "trace lot shipped",
        "trace serial",
        "trace supplier",
        "milestones",
        "milestone plan",
        "ramp",
        "dead letters",
        "trace missing",
    ],
)
def test_no_question_scans_a_growing_table(
    line_store: Engine, stream: list[dict[str, Any]], question: str
) -> None:
    scans = full_scans(line_store, _questions(line_store, stream)[question])
    allowed = WHOLE_CURVE.get(question, set())
    assert [(table, sql) for table, sql in scans if table not in allowed] == []
