"""`simulate --mqtt` and the bridge through nats-server's MQTT listener, which speaks only
MQTT 3.1.1: both fall back to it, and every event is stored once."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from linespeed.bridges.mqtt import BridgeSettings
from linespeed.plant.model import Plant
from tests.cli.conftest import run
from tests.conftest import make_store
from tests.mqtt.conftest import NatsServer, report_total, running_bridge, stored_count, wait_until

__all__ = ["run"]

pytestmark = pytest.mark.service


def test_simulate_mqtt_through_nats_is_stored_by_the_bridge_in_3_1_1(
    run: Any, nats_mqtt: NatsServer, plant: Plant, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "linespeed.mqtt")
    store = make_store(f"sqlite:///{tmp_path / 'nats.db'}", plant, simulation=True)
    settings = BridgeSettings(nats_mqtt.address, live_window=None)
    with running_bridge(store, settings) as bridge:
        result = run(
            "simulate", "--days", "1", "--mqtt", nats_mqtt.url,
            "--speed", "0", "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        count = result.json()["published"]["events"]
        assert count == result.json()["events"] > 0
        wait_until(lambda: report_total(bridge.report) == count, 60, "the bridge")
    assert bridge.protocol == "MQTT 3.1.1"
    assert (bridge.report.accepted, bridge.report.rejected) == (count, 0), bridge.report.reasons
    assert stored_count(store) == count
    fell_back = [
        record.getMessage() for record in caplog.records if "refused MQTT 5" in record.getMessage()
    ]
    assert fell_back == [
        f"the broker at {nats_mqtt.url} refused MQTT 5 for {client_id!r} (unacceptable protocol "
        "version (0x01)); connecting with MQTT 3.1.1"
        for client_id in (f"linespeed-{plant.plant}", f"linespeed-sim-{plant.plant}-{os.getpid()}")
    ]
    store.dispose()
