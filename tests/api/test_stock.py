"""GET /api/v1/stock: viewers may read it; an unknown part is a 400 naming it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import Tokens


def test_stock_needs_a_token_and_answers_viewers(client: TestClient, tokens: Tokens) -> None:
    assert client.get("/api/v1/stock").status_code == 401

    answer = client.get("/api/v1/stock", headers=tokens.header("viewer"))

    assert answer.status_code == 200
    parts = answer.json()["parts"]
    assert {"BAT-1001", "BRK-2201"} <= {row["part"] for row in parts}
    assert set(parts[0]) >= {
        "part",
        "supplier",
        "received",
        "consumed",
        "adjusted",
        "on_hand",
        "lots",
        "days_of_cover",
        "runs_out_on",
    }


def test_an_unknown_part_is_refused_with_its_code(client: TestClient, tokens: Tokens) -> None:
    answer = client.get("/api/v1/stock?part=NOT-0000", headers=tokens.header("viewer"))

    assert answer.status_code == 400
    assert answer.json()["error"] == "stock.input"
    assert "NOT-0000" in answer.json()["detail"]
