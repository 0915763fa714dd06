"""Every read route answers 4xx, never 500, for parameters at the extremes: times that
overflow when moved to UTC, years 1 and 9999, times without offset, integers past 2**63,
odd text. The routes and their parameters come from the OpenAPI document, so a new route
is swept too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from linespeed.events.types import Event
from tests.api.conftest import Tokens
from tests.api.test_api import _first_vin

SKIPPED = {"/api/v1/stream"}
"""An endless stream; the live feed's own tests sweep its parameters."""
TIMES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00",
    "2025-06-30T08:00:00",
    "1969-12-31T23:59:59Z",
    "2200-01-01T00:00:01Z",
    "2025-06-30T08:00:00+23:59",
    "2025-06-30T08:00:00-23:59",
    "99999-01-01T00:00:00Z",
    "2025-13-45T99:99:99Z",
]
DAYS = ["0001-01-01", "9999-12-31", "1969-12-31", "2200-01-01", "2025-02-30", "99999-01-01"]
INTEGERS = [str(2**63), str(-(2**63) - 1), str(10**100), "-1", "0", "1e309", "NaN", "²"]
TEXTS = ["x" * 5000, "\x00", "²", "../../etc/passwd", "%", "日本", " ", "'"]
BASELINE = {"supplier": "sup-brk", "part": "BRK-2201", "number": "1"}
"""Values for required parameters that are not being swept."""


def _extremes(schema: dict[str, Any]) -> list[str]:
    options = schema.get("anyOf", [schema])
    kinds = {(option.get("type"), option.get("format")) for option in options}
    values: list[str] = []
    for kind, form in kinds:
        if kind == "array":
            values += _extremes(options[0].get("items", {}) if "items" in options[0] else {})
        elif form == "date-time":
            values += TIMES
        elif form == "date":
            values += DAYS
        elif kind in ("integer", "number"):
            values += INTEGERS
        elif kind == "string":
            values += TEXTS + TIMES[:2]
    return values or TEXTS


def _cases(openapi: dict[str, Any], vin: str) -> Iterator[tuple[str, str]]:
    """(path with query, "route parameter") for every GET route and parameter."""
    for template, methods in openapi["paths"].items():
        if "get" not in methods or template in SKIPPED:
            continue
        parameters = methods["get"].get("parameters", [])
        base = {**BASELINE, "vin": vin}
        for swept in parameters:
            for value in _extremes(swept.get("schema", {})):
                path, query = template, []
                for parameter in parameters:
                    name = parameter["name"]
                    given = value if parameter is swept else base.get(name)
                    if given is None:
                        continue
                    if parameter["in"] == "path":
                        path = path.replace("{" + name + "}", quote(given, safe=""))
                    elif parameter["in"] == "query":
                        query.append(f"{name}={quote(given, safe='')}")
                yield (
                    path + ("?" + "&".join(query) if query else ""),
                    f"{template} {swept['name']}",
                )
    for first in TIMES[:4]:  # both ends of a window at once, grouped and not
        for second in TIMES[:4]:
            since, until = quote(first), quote(second)
            yield f"/api/v1/kpi?since={since}&until={until}", "since+until"
            yield f"/api/v1/kpi?since={since}&until={until}&by=day", "since+until+by"
            yield f"/api/v1/trace/part/BRK-2201?supplier=sup-brk&from={since}&to={until}", "from+to"
    yield "/api/v1/kpi?since=2025-06-30T00:00&until=2025-07-01T00:00Z&by=day", "naive+aware"


@pytest.mark.slow
def test_no_read_route_answers_500_at_the_extremes(
    client: TestClient, tokens: Tokens, example: list[Event]
) -> None:
    openapi = client.get("/api/v1/openapi.json").json()
    failures = []
    swept = set()
    for path, parameter in _cases(openapi, _first_vin(example)):
        answer = client.get(path, headers=tokens.header("admin"))
        swept.add(parameter)
        if answer.status_code >= 500 or not answer.headers["content-type"].startswith(
            "application/json"
        ):
            failures.append((path[:200], parameter, answer.status_code, answer.text[:200]))
        elif answer.status_code >= 400:
            assert answer.json()["error"] and answer.json()["detail"], path
    assert not failures, failures
    routes = {
        f"{template} {parameter['name']}"
        for template, methods in openapi["paths"].items()
        if template not in SKIPPED
        for parameter in methods.get("get", {}).get("parameters", [])
    }
    assert routes and routes <= swept


@pytest.mark.parametrize("value", [*TIMES[:4], "1969-12-31T23:59:59Z", "2200-01-01T00:00:01Z"])
@pytest.mark.parametrize(
    ("route", "name", "code"),
    [
        ("/api/v1/kpi?", "since", "kpi.input"),
        ("/api/v1/kpi?", "until", "kpi.input"),
        ("/api/v1/trace/part/BRK-2201?supplier=sup-brk&", "from", "trace.input"),
        ("/api/v1/trace/part/BRK-2201?supplier=sup-brk&", "to", "trace.input"),
    ],
)
@pytest.mark.slow
def test_times_outside_1970_to_2200_are_400_with_the_functions_code(
    client: TestClient, tokens: Tokens, route: str, name: str, code: str, value: str
) -> None:
    answer = client.get(f"{route}{name}={quote(value)}", headers=tokens.header("viewer"))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == code
    assert "outside 1970-01-01 to 2200-01-01 UTC" in answer.json()["detail"]
