"""Schemathesis drives every operation of the OpenAPI spec: no answer is a 5xx, and every
error has the one error shape."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from linespeed.api import create_app
from linespeed.store.engine import connect
from tests.api.conftest import Tokens

SKIPPED = {"/api/v1/stream"}
"""The live feed never ends: tests/api/test_feed.py tests it on a running server."""


def _operations() -> list[tuple[str, str]]:
    spec = create_app(connect("sqlite://")).openapi()
    return [
        (method.upper(), path)
        for path, methods in spec["paths"].items()
        if path not in SKIPPED
        for method in methods
    ]


@pytest.mark.parametrize(("method", "path"), _operations())
@pytest.mark.slow
def test_no_request_makes_a_server_error(
    app: FastAPI, tokens: Tokens, method: str, path: str
) -> None:
    operation = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case: schemathesis.Case[Any]) -> None:
        answer = case.call(headers=tokens.header("admin"))
        assert answer.status_code < 500, (case.as_curl_command(), answer.text)
        if answer.status_code >= 400:
            assert set(answer.json()) >= {"error", "detail"}, answer.text

    check()
