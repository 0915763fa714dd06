"""`mqtt ingest --metrics-port`: a scraper reads the bridge's counts over HTTP while it runs,
against the machine's broker (LINESPEED_TEST_MQTT_URL)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from linespeed.events.types import Event
from linespeed.metrics import BridgeCollector, BridgeNumbers, joined, scrape
from linespeed.mqtt.broker import BrokerAddress
from linespeed.mqtt.connection import Connection
from linespeed.mqtt.topics import events_topic
from linespeed.natsio.publisher import publish_event_lines
from linespeed.natsio.streams import StreamPlan, set_up_streams
from linespeed.natsio.subjects import stream_name
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from tests.conftest import make_store, payload
from tests.metrics.scraping import families, value
from tests.mqtt.conftest import forget_session, mqtt_broker, own_plant, wait_until
from tests.natsio.cleanup import remove_streams
from tests.natsio.conftest import line_events

__all__ = ["mqtt_broker", "own_plant"]

LINESPEED = str(Path(sys.executable).parent / "linespeed")
BRIDGE_TYPES = {
    "linespeed_bridge_messages": "counter",
    "linespeed_bridge_dead_letters": "counter",
    "linespeed_bridge_unacknowledged_messages": "gauge",
    "linespeed_bridge_reconnects": "counter",
    "linespeed_events_accepted": "counter",
    "linespeed_events_refused": "counter",
    "linespeed_events_duplicate": "counter",
    "linespeed_ingest_batch_seconds": "histogram",
    "linespeed_line_last_event_age_seconds": "gauge",
}


def _read(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain")
        text: str = answer.read().decode()
        return text


@pytest.mark.service
def test_a_scrape_of_the_bridge_counts_what_it_ingested(
    mqtt_broker: BrokerAddress, own_plant: Plant, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'bridge.db'}"
    make_store(db_url, own_plant).dispose()
    cars: list[Event] = list(example_events(own_plant, ExampleSettings(cars=2)))
    client_id = f"metrics-{uuid.uuid4().hex[:8]}"
    broker_url = f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}"
    command = [LINESPEED, "mqtt", "ingest", "--broker", broker_url, "--client-id", client_id]
    command += ["--max-age-days", "0", "--metrics-port", "0", "--db", db_url]
    bridge = subprocess.Popen(
        command,
        env={**os.environ, "LINESPEED_LOG_FORMAT": "text"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert bridge.stderr is not None
        announced = bridge.stderr.readline()
        found = re.fullmatch(r"metrics at (http://127\.0\.0\.1:\d+/metrics)\n", announced)
        assert found, announced
        url = found.group(1)
        assert bridge.stderr.readline().startswith("bridging "), "the bridge did not start"
        publisher = Connection(mqtt_broker, f"{client_id}-publisher")
        publisher.open()
        for event in cars:
            station = getattr(event, "station", None)
            publisher.publish(events_topic(own_plant.plant, "l1", station), payload(event))
        publisher.publish(events_topic(own_plant.plant, "l1", "body-010"), b"not json at all")
        publisher.drain(10)
        publisher.close()

        mqtt = {"source": "mqtt"}
        wait_until(
            lambda: (
                value(_read(url), "linespeed_bridge_messages_total", bridge="mqtt") == len(cars) + 1
            ),
            60,
            "every message counted",
        )
        text = _read(url)
    finally:
        bridge.send_signal(signal.SIGTERM)
        bridge.communicate(timeout=30)
        forget_session(mqtt_broker, client_id)
    assert bridge.returncode == 0

    scraped = families(text)
    assert {name: scraped[name].type for name in BRIDGE_TYPES} == BRIDGE_TYPES
    assert value(text, "linespeed_events_accepted_total", **mqtt) == len(cars)
    assert value(text, "linespeed_events_refused_total", reason="json.malformed", **mqtt) == 1
    assert value(text, "linespeed_bridge_dead_letters_total", bridge="mqtt") == 1
    assert value(text, "linespeed_bridge_unacknowledged_messages", bridge="mqtt") == 0
    assert value(text, "linespeed_bridge_reconnects_total", bridge="mqtt") == 0
    assert value(text, "linespeed_ingest_batch_seconds_count", **mqtt) >= 1
    ages = scraped["linespeed_line_last_event_age_seconds"].samples
    assert [sample.labels for sample in ages] == [{"plant": own_plant.plant, "line": "l1"}]


def test_a_number_the_bridge_keeps_to_itself_has_no_sample() -> None:
    numbers = BridgeNumbers(messages=7, dead_letters=2)
    text = scrape(joined(BridgeCollector("nats", lambda: numbers))).decode()
    assert value(text, "linespeed_bridge_messages_total", bridge="nats") == 7
    assert value(text, "linespeed_bridge_dead_letters_total", bridge="nats") == 2
    scraped = families(text)
    assert "linespeed_bridge_unacknowledged_messages" not in scraped
    assert "linespeed_bridge_reconnects" not in scraped


@pytest.mark.service
def test_a_scrape_of_the_nats_bridge_counts_what_it_ingested(
    own_plant: Plant, tmp_path: Path
) -> None:
    nats_url = os.environ.get("LINESPEED_TEST_NATS_URL")
    if not nats_url:
        if os.environ.get("CI") == "true":
            pytest.fail("under CI the NATS tests must run: LINESPEED_TEST_NATS_URL is not set")
        pytest.skip("set LINESPEED_TEST_NATS_URL to run")
    db_url = f"sqlite:///{tmp_path / 'bridge.db'}"
    make_store(db_url, own_plant, simulation=True).dispose()
    lines = line_events(0.2)
    set_up_streams(nats_url, StreamPlan((own_plant.plant,)))
    try:
        assert publish_event_lines(lines, nats_url, own_plant.plant).published == len(lines)
        command = [LINESPEED, "nats", "ingest", "--server", nats_url, "--max-age-days", "0"]
        command += ["--metrics-port", "0", "--db", db_url]
        bridge = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert bridge.stderr is not None
            announced = bridge.stderr.readline()
            found = re.fullmatch(r"metrics at (http://127\.0\.0\.1:\d+/metrics)\n", announced)
            assert found, announced
            url = found.group(1)
            wait_until(
                lambda: (
                    value(_read(url), "linespeed_bridge_messages_total", bridge="nats")
                    == len(lines)
                ),
                60,
                "every message counted",
            )
            text = _read(url)
        finally:
            bridge.send_signal(signal.SIGTERM)
            bridge.communicate(timeout=30)
        assert bridge.returncode == 0
    finally:
        remove_streams(nats_url, stream_name(own_plant.plant))
    scraped = families(text)
    assert {name: scraped[name].type for name in BRIDGE_TYPES} == BRIDGE_TYPES
    assert value(text, "linespeed_events_accepted_total", source="nats") == len(lines)
    assert value(text, "linespeed_bridge_unacknowledged_messages", bridge="nats") == 0
    assert value(text, "linespeed_bridge_reconnects_total", bridge="nats") == 0
