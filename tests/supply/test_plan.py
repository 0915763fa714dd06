"""Plan revisions in the store, through the library, `linespeed plan` and the API, on both
backends: each import a new revision, the newest covering a day its plan."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from linespeed.access.audit import list_audit
from linespeed.access.tokens import create_token
from linespeed.api import ApiSettings, create_app
from linespeed.plant.model import Plant
from linespeed.supply.plan import PlanInputError, import_plan, list_revisions, plan_in_force
from linespeed.supply.plan_file import PlanFileError
from tests.backends import backend, store_url
from tests.conftest import cli_runner, make_store, snapshot
from tests.plans import recorded_selects

__all__ = ["backend"]

HEADER = "date,line,shift,model,quantity\n"
JULY = HEADER + "2025-07-01,l1,A,s7,100\n2025-07-01,l1,A,x9,50\n2025-07-03,l1,,,300\n"
"""Covers 1 to 3 July; the 2nd has no row: no production planned."""
LATER = HEADER + "2025-07-03,l1,A,,80\n2025-07-04,l1,B,,0\n"


@pytest.fixture
def store(backend: str, plant: Plant, tmp_path: Path) -> Iterator[Engine]:
    """A store (temp-file SQLite or a PostgreSQL schema) with the default plant."""
    with store_url(backend, f"sqlite:///{tmp_path / 'plan.db'}") as url:
        engine = make_store(url, plant)
        yield engine
        engine.dispose()


def rows(engine: Engine, **days: date) -> list[tuple[str, str, str | None, str | None, int, int]]:
    view = plan_in_force(engine, first_day=days.get("first"), last_day=days.get("last"))
    return [
        (r.day.isoformat(), r.line, r.shift, r.model, r.quantity, r.revision) for r in view.rows
    ]


def test_the_newest_revision_covering_a_day_is_its_plan(store: Engine) -> None:
    first = import_plan(store, JULY.encode(), "july.csv")
    second = import_plan(store, LATER.encode(), "later.csv")
    assert (first.revision, first.first_day, first.last_day, first.rows, first.quantity) == (
        1,
        date(2025, 7, 1),
        date(2025, 7, 3),
        3,
        450,
    )
    assert (second.revision, second.rows, second.quantity) == (2, 2, 80)
    assert rows(store) == [
        ("2025-07-01", "l1", "A", "s7", 100, 1),
        ("2025-07-01", "l1", "A", "x9", 50, 1),
        ("2025-07-03", "l1", "A", None, 80, 2),
        ("2025-07-04", "l1", "B", None, 0, 2),
    ]
    view = plan_in_force(store, first_day=date(2025, 6, 30), last_day=date(2025, 7, 2))
    assert (view.quantity, view.days_planned, view.days_without_plan) == (150, 2, 1)
    assert [r.revision for r in list_revisions(store)] == [2, 1]
    assert [r.source for r in list_revisions(store)] == ["later.csv", "july.csv"]


def test_the_same_file_twice_is_two_revisions(store: Engine) -> None:
    import_plan(store, JULY.encode(), "july.csv")
    import_plan(store, JULY.encode(), "july.csv")
    assert [r.revision for r in list_revisions(store)] == [2, 1]
    assert {row[-1] for row in rows(store)} == {2}


def test_a_bad_file_changes_nothing(store: Engine) -> None:
    import_plan(store, JULY.encode(), "july.csv")
    before = snapshot(store)
    with pytest.raises(PlanFileError):
        import_plan(store, (HEADER + "2025-07-05,l1,A,s7,1\n2025-07-06,l2,A,s7,1\n").encode(), "x")
    assert snapshot(store) == before


def test_no_plan_and_bad_spans(store: Engine) -> None:
    empty = plan_in_force(store)
    assert (empty.first_day, empty.rows, empty.quantity) == (None, [], 0)
    with pytest.raises(PlanInputError, match="from 2025-07-03 is after to 2025-07-01"):
        plan_in_force(store, first_day=date(2025, 7, 3), last_day=date(2025, 7, 1))
    with pytest.raises(PlanInputError, match="longer than 3660 days"):
        plan_in_force(store, first_day=date(2000, 1, 1), last_day=date(2025, 1, 1))
    with pytest.raises(PlanInputError, match="to 2999-01-01 is outside"):
        plan_in_force(store, last_day=date(2999, 1, 1))


@pytest.fixture
def run(
    store: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str, str]]:
    """Run `linespeed ARGS` in-process on the store: (exit code, stdout, stderr)."""
    monkeypatch.setenv("LINESPEED_DB", store.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "200")

    return cli_runner(capsys, monkeypatch)


def test_plan_commands(run: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    plan = tmp_path / "july.csv"
    plan.write_text(JULY)
    code, out, _ = run("plan", "import", str(plan))
    assert (code, out) == (
        0,
        f"{plan}: plan revision 1, 2025-07-01 to 2025-07-03: 3 rows, 450 cars planned\n",
    )
    code, out, _ = run("plan", "show", "--from", "2025-07-03", "--json")
    assert json.loads(out) == {
        "first_day": "2025-07-03",
        "last_day": "2025-07-03",
        "rows": [
            {
                "day": "2025-07-03",
                "line": "l1",
                "shift": None,
                "model": None,
                "quantity": 300,
                "revision": 1,
            }
        ],
        "quantity": 300,
        "days_planned": 1,
        "days_without_plan": 0,
    }
    code, out, _ = run("plan", "show")
    assert out.splitlines()[-1] == (
        "2025-07-01 to 2025-07-03: 450 cars planned; 3 days planned, 0 without a plan"
    )
    code, out, _ = run("plan", "list", "--json")
    assert [(r["revision"], r["source"], r["rows"]) for r in json.loads(out)["revisions"]] == [
        (1, str(plan), 3)
    ]


def test_plan_command_errors(run: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "2025-07-01,l1,A,s7,-3\n")
    assert run("plan", "import", str(bad)) == (
        1,
        "",
        f"{bad}:2: quantity: '-3' is not a whole number >= 0\n",
    )
    code, out, _ = run("plan", "import", str(bad), "--json")
    assert (code, json.loads(out)) == (
        1,
        {
            "imported": False,
            "problems": [
                {
                    "file": str(bad),
                    "line": 2,
                    "field": "quantity",
                    "message": "'-3' is not a whole number >= 0",
                }
            ],
        },
    )
    missing = tmp_path / "missing.csv"
    assert run("plan", "import", str(missing)) == (
        1,
        "",
        f"error: {missing}: No such file or directory\n",
    )
    assert run("plan", "show", "--from", "July") == (
        1,
        "",
        "error: --from 'July' is not a date YYYY-MM-DD\n",
    )
    assert run("plan", "show", "--from", "2025-07-02", "--to", "2025-07-01") == (
        1,
        "",
        "error: --from 2025-07-02 is after --to 2025-07-01\n",
    )
    assert run("plan", "list") == (
        0,
        "no plan is stored: run `linespeed plan import FILE.csv`\n",
        "",
    )


def test_plan_over_the_api(store: Engine) -> None:
    engineer = create_token(store, "engineer", label="planner")
    viewer = create_token(store, "viewer")
    csv_type = {"Content-Type": "text/csv"}
    with TestClient(
        create_app(store, ApiSettings(live_window=None)), raise_server_exceptions=False
    ) as client:

        def as_(token: Any, **headers: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token.token}", **headers}

        answer = client.post("/api/v1/plan", content=JULY, headers=as_(engineer, **csv_type))
        assert answer.status_code == 200, answer.text
        assert answer.json()["revision"] == 1
        assert answer.json()["source"] == f"api:token {engineer.id} (planner)"
        refused = client.post("/api/v1/plan", content=JULY, headers=as_(viewer, **csv_type))
        assert refused.status_code == 403
        wrong = client.post(
            "/api/v1/plan", content=JULY, headers=as_(engineer, **{"Content-Type": "text/plain"})
        )
        assert (wrong.status_code, wrong.json()["error"]) == (415, "request.content_type")
        bad = client.post(
            "/api/v1/plan",
            content=HEADER + "2025-07-01,l1,Z,s7,1\n",
            headers=as_(engineer, **csv_type),
        )
        assert bad.status_code == 400
        assert bad.json() == {
            "error": "plan.invalid",
            "detail": "api:token 1 (planner):2: shift: unknown shift 'Z'; "
            "the plant's shifts: A, B, C",
            "problems": [
                {
                    "file": "api:token 1 (planner)",
                    "line": 2,
                    "field": "shift",
                    "message": "unknown shift 'Z'; the plant's shifts: A, B, C",
                }
            ],
        }
        shown = client.get("/api/v1/plan?from=2025-07-01&to=2025-07-01", headers=as_(viewer))
        assert shown.status_code == 200
        assert [row["quantity"] for row in shown.json()["rows"]] == [100, 50]
        listed = client.get("/api/v1/plan/revisions", headers=as_(viewer)).json()
        assert [r["revision"] for r in listed["revisions"]] == [1]
        out_of_range = client.get("/api/v1/plan?to=2999-01-01", headers=as_(viewer))
        assert (out_of_range.status_code, out_of_range.json()["error"]) == (400, "plan.input")
    assert [(e.action, e.outcome, e.status_code) for e in reversed(list_audit(store))] == [
        ("post_plan", "ok", 200),
        ("post_plan", "auth.forbidden", 403),
        ("post_plan", "request.content_type", 415),
        ("post_plan", "plan.invalid", 400),
    ]


def test_bad_plan_bodies_over_the_api(store: Engine) -> None:
    engineer = create_token(store, "engineer")
    headers = {"Authorization": f"Bearer {engineer.token}", "Content-Type": "text/csv"}
    with TestClient(
        create_app(store, ApiSettings(live_window=None, max_body_bytes=1000)),
        raise_server_exceptions=False,
    ) as client:
        huge = client.post("/api/v1/plan", content=JULY * 50, headers=headers)
        assert (huge.status_code, huge.json()["error"]) == (413, "request.too_large")
        for body, message in [
            (b"", "the file is empty"),
            (HEADER.encode() + b"2025-07-01,l1,A,s\x007,1\n", "holds a NUL character"),
            (b"date,line\n2025-07-01,l1\n", "missing column 'shift' in the header"),
        ]:
            answer = client.post("/api/v1/plan", content=body, headers=headers)
            assert (answer.status_code, answer.json()["error"]) == (400, "plan.invalid")
            assert message in answer.json()["detail"]
    assert list_revisions(store) == []


def test_the_plan_of_a_span_reads_an_index_range(plant: Plant, tmp_path: Path) -> None:
    # SQLite's plans (PostgreSQL answers the same query from the same primary key).
    engine = make_store(f"sqlite:///{tmp_path / 'plans.db'}", plant)
    import_plan(engine, JULY.encode(), "july.csv")
    statements = recorded_selects(engine, lambda: plan_in_force(engine, first_day=date(2025, 7, 2)))
    reads = [statement for statement, _ in statements if "FROM plan_rows" in statement]
    assert reads
    with engine.connect() as connection:
        for statement, params in statements:
            if "FROM plan_rows" not in statement:
                continue
            plan = [
                str(row[-1])
                for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            ]
            assert any(step.startswith("SEARCH plan_rows USING INDEX") for step in plan), plan
    engine.dispose()
