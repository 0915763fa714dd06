"""PostgreSQL restarted under a running `serve` and running MQTT and NATS bridges: each answers or
waits while it is away, and goes on by itself once it is back, nothing lost or doubled.

The server is the test's own (tests/faults/postgres_cluster.py); the machine's shared
PostgreSQL is never restarted.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, func, select

from linespeed.access.tokens import create_token
from linespeed.api import ApiSettings
from linespeed.api.server import running_server
from linespeed.bridges import mqtt as mqtt_bridge
from linespeed.bridges import nats_commits
from linespeed.bridges.mqtt import BridgeSettings
from linespeed.bridges.nats import NatsBridgeSettings
from linespeed.mqtt.broker import BrokerAddress
from linespeed.natsio.publisher import publish_event_lines
from linespeed.natsio.streams import StreamPlan, set_up_streams
from linespeed.natsio.subjects import stream_name
from linespeed.plant.model import Plant
from linespeed.sim.publish import publish_events
from linespeed.store.schema import events
from tests.conftest import make_store
from tests.faults.postgres_cluster import OwnPostgres, own_postgres
from tests.mqtt.conftest import running_bridge, wait_until
from tests.natsio.cleanup import remove_streams
from tests.natsio.conftest import ThreadBridge, line_events

pytestmark = [pytest.mark.service, pytest.mark.slow]


@pytest.fixture
def postgres() -> Iterator[OwnPostgres]:
    """A PostgreSQL of the test's own."""
    with own_postgres() as server:
        yield server


def _stored(engine: Engine) -> tuple[int, int]:
    """(events stored, distinct event ids)."""
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(
                select(func.count(), func.count(func.distinct(events.c.event_id)))
            ).one()
        )


def _failed_tries(caplog: pytest.LogCaptureFixture) -> int:
    """The bridge's warnings of a batch tried again after the store failed."""
    return sum("batches wait" in record.getMessage() for record in caplog.records)


def test_serve_answers_503_while_postgresql_is_away_and_recovers_by_itself(
    postgres: OwnPostgres, plant: Plant
) -> None:
    engine = make_store(postgres.url, plant, simulation=True)
    lines = line_events(0.5)
    half = len(lines) // 2
    token = create_token(engine, "operator").token
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}

    def post(part: tuple[bytes, ...]) -> httpx.Response:
        return httpx.post(f"{url}/api/v1/events", content=b"\n".join(part), headers=auth)

    with running_server(engine, ApiSettings(live_window=None)) as url:
        assert post(lines[:half]).status_code < 300
        postgres.stop()
        down = post(lines[half:])
        assert down.status_code == 503, down.text
        assert down.json()["error"] == "store.unavailable"
        assert down.headers["Retry-After"] == "5"
        asked = httpx.get(f"{url}/api/v1/kpi", headers=auth)
        assert (asked.status_code, asked.json()["error"]) == (503, "store.unavailable")
        postgres.start()
        # the server was not restarted: its pooled connections are checked and made again
        assert httpx.get(f"{url}/api/v1/kpi", headers=auth).status_code == 200
        again = post(lines[half:])
        assert again.status_code < 300, again.text
    assert _stored(engine) == (len(lines), len(lines))
    engine.dispose()


def test_the_mqtt_bridge_waits_for_postgresql_and_goes_on_by_itself(
    postgres: OwnPostgres,
    plant: Plant,
    mqtt_broker: BrokerAddress,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(mqtt_bridge, "STORE_RETRY_MAX_S", 0.5)
    caplog.set_level(logging.WARNING, logger="linespeed.bridges.mqtt")
    own = plant.model_copy(update={"plant": f"t{uuid.uuid4().hex[:10]}"})
    engine = make_store(postgres.url, own, simulation=True)
    lines = line_events(0.5)
    half = len(lines) // 2
    settings = BridgeSettings(
        mqtt_broker, client_id=f"pg-{uuid.uuid4().hex[:8]}", live_window=None, linger_s=0.05
    )
    with running_bridge(engine, settings) as bridge:
        publish_events(lines[:half], mqtt_broker, own.plant, speed=0)
        wait_until(lambda: _stored(engine)[0] == half, 60, "the first half stored")
        postgres.stop()
        publish_events(lines[half:], mqtt_broker, own.plant, speed=0)

        # away for longer than a few tries: the bridge keeps trying, acknowledging nothing
        wait_until(lambda: _failed_tries(caplog) >= 8, 60, "eight failed tries")
        assert bridge.report.messages == half
        postgres.start()
        wait_until(lambda: _stored(engine)[0] == len(lines), 120, "every event stored")
    assert _stored(engine) == (len(lines), len(lines))
    assert bridge.report.accepted == len(lines)
    engine.dispose()


def test_the_nats_bridge_waits_for_postgresql_and_goes_on_by_itself(
    postgres: OwnPostgres,
    plant: Plant,
    nats_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(nats_commits, "STORE_RETRY_MAX_S", 0.5)
    caplog.set_level(logging.WARNING, logger="linespeed.bridges.nats_commits")
    own = plant.model_copy(update={"plant": f"t{uuid.uuid4().hex[:10]}"})
    engine = make_store(postgres.url, own, simulation=True)
    lines = line_events(0.5)
    half = len(lines) // 2
    set_up_streams(nats_url, StreamPlan((own.plant,)))
    settings = NatsBridgeSettings(server=nats_url, live_window=None, ack_wait_s=5.0)
    try:
        with ThreadBridge(engine, settings) as bridge:
            publish_event_lines(lines[:half], nats_url, own.plant)
            wait_until(lambda: _stored(engine)[0] == half, 60, "the first half stored")
            postgres.stop()
            publish_event_lines(lines[half:], nats_url, own.plant)

            # away for longer than an ack wait and many tries: in progress, acknowledged never
            wait_until(lambda: _failed_tries(caplog) >= 12, 60, "twelve failed tries")
            assert bridge.report.messages == half
            postgres.start()
            wait_until(lambda: _stored(engine)[0] == len(lines), 120, "every event stored")
            wait_until(lambda: bridge.report.messages == len(lines), 30, "every message acked")
        assert _stored(engine) == (len(lines), len(lines))
        assert bridge.report.accepted == len(lines)
    finally:
        remove_streams(nats_url, stream_name(own.plant))
        engine.dispose()
