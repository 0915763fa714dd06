"""The audit log exported page by page, as docs/api.md tells an admin to archive it (SQLite:
the CLI under test runs in-process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Tokens

STATE = {
    "id": "export-1",
    "kind": "station.state",
    "ts": "2025-06-30T12:00:00+08:00",
    "station": "ga-090",
    "state": "running",
}


@pytest.mark.slow
def test_the_audit_log_is_exported_page_by_page(
    client: TestClient, tokens: Tokens, run_cli: Callable[..., Any]
) -> None:
    for n in range(5):
        client.post(f"/api/v1/events/{n}", json=STATE, headers=tokens.header("operator"))
    newest = run_cli("audit", "--limit", "2")
    older = run_cli("audit", "--limit", "2", "--before-id", str(newest[-1]["id"]))
    oldest = run_cli("audit", "--limit", "2", "--before-id", str(older[-1]["id"]))
    pages = [entry["path"] for page in (newest, older, oldest) for entry in page]
    assert pages == [f"/api/v1/events/{n}" for n in (4, 3, 2, 1, 0)]
    admin = tokens.header("admin")
    api = client.get(f"/api/v1/audit?limit=2&before_id={newest[-1]['id']}", headers=admin)
    assert api.json() == older
