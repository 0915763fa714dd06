"""`linespeed serve` delivers the webhooks while it runs: started and stopped with the app."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from linespeed.api import ApiSettings, create_app
from linespeed.plant.model import Plant
from linespeed.webhooks import add_webhook, list_deliveries
from tests.conftest import ingest
from tests.webhooks.conftest import FAST, station_news
from tests.webhooks.receiver import Receiver, receiving


def test_the_server_delivers_news_ingested_while_it_runs(
    milestone_store: Engine, plant: Plant
) -> None:
    with receiving(Receiver()) as receiver:
        add_webhook(milestone_store, receiver.url, ["station.down"])
        app = create_app(milestone_store, ApiSettings(live_window=None, webhooks=FAST))
        with TestClient(app) as client:
            assert client.get("/api/v1/health").status_code == 200
            ingest(milestone_store, station_news(plant, "s"))
            assert receiver.arrived.wait(60), "the server never posted"
    assert [json.loads(each.body)["kind"] for each in receiver.requests] == ["station.down"]
    assert [(d.status, d.attempts) for d in list_deliveries(milestone_store)] == [("delivered", 1)]
