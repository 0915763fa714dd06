"""`mqtts://USER:PASSWORD@HOST`: the bridge and the publisher over TLS with a login, against
a Mosquitto of the test's own with a certificate from a test authority."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from linespeed.bridges.mqtt import BridgeSettings
from linespeed.mqtt.broker import BrokerError, parse_broker_url
from linespeed.mqtt.connection import Connection
from linespeed.mqtt.topics import events_topic
from linespeed.plant.model import Plant
from tests.conftest import make_store
from tests.mqtt.conftest import Mosquitto, running_bridge, unavailable, wait_until

pytestmark = pytest.mark.service

STARTED = (
    b'{"id":"s-1","ts":"2025-06-30T09:00:00+08:00","kind":"unit.started","line":"l1",'
    b'"vin":"LSPA1S7E8SB000001","model":"s7","color":"pearl-white"}'
)


def _openssl(*arguments: str, folder: Path) -> None:
    subprocess.run(["openssl", *arguments], cwd=folder, check=True, capture_output=True)


@pytest.fixture
def tls_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mosquitto]:
    """A Mosquitto speaking only TLS, with user `line` (password `s3cret`); the test's
    certificate authority is the one clients trust (SSL_CERT_FILE)."""
    if shutil.which("openssl") is None or shutil.which("mosquitto_passwd") is None:
        unavailable("openssl and mosquitto_passwd are needed to set up a TLS broker")
    folder = tmp_path / "tls"
    folder.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-out", "ca.crt", "-days", "2", "-subj", "/CN=test CA", folder=folder)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
             "-out", "server.csr", "-subj", "/CN=localhost", folder=folder)  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext",
             folder=folder)  # fmt: skip
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(folder / "passwords"), "line", "s3cret"],
        check=True,
        capture_output=True,
    )
    broker = Mosquitto(folder)
    config = broker.config.read_text().replace("allow_anonymous true", "allow_anonymous false")
    broker.config.write_text(
        config
        + f"password_file {folder / 'passwords'}\n"
        + f"cafile {folder / 'ca.crt'}\ncertfile {folder / 'server.crt'}\n"
        + f"keyfile {folder / 'server.key'}\n"
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(folder / "ca.crt"))
    broker.start()
    yield broker
    broker.stop()


def test_the_bridge_logs_in_over_tls(tls_broker: Mosquitto, plant: Plant, tmp_path: Path) -> None:
    url = f"mqtts://line:s3cret@localhost:{tls_broker.port}"
    address = parse_broker_url(url)
    store = make_store(f"sqlite:///{tmp_path / 'tls.db'}", plant)
    settings = BridgeSettings(address, client_id=f"tls-{uuid.uuid4().hex[:8]}", live_window=None)
    with running_bridge(store, settings) as bridge:
        publisher = Connection(address, "tls-line")
        publisher.open()
        publisher.publish(events_topic(plant.plant, "l1", None), STARTED)
        publisher.drain(10)
        publisher.close()
        wait_until(lambda: bridge.report.messages == 1, 20, "the bridge")
    assert (bridge.protocol, bridge.report.accepted) == ("MQTT 5", 1)
    store.dispose()


def test_a_wrong_password_or_plain_mqtt_on_tls_is_named(tls_broker: Mosquitto) -> None:
    wrong = parse_broker_url(f"mqtts://line:wrong@localhost:{tls_broker.port}")
    with pytest.raises(BrokerError) as refused:
        Connection(wrong, "intruder").open()
    assert str(refused.value) == (
        f"the broker at mqtts://line:***@localhost:{tls_broker.port} refused 'intruder': "
        "not authorized (0x87)"
    )
    plain = parse_broker_url(f"mqtt://line:s3cret@localhost:{tls_broker.port}")
    with pytest.raises(BrokerError) as plain_refused:
        Connection(plain, "plain").open()
    at = f"cannot reach the broker at mqtt://line:***@localhost:{tls_broker.port}: "
    hint = " (a port that wants TLS does so: use mqtts://)"
    assert str(plain_refused.value) in {  # the broker resets or closes, as it happens
        at + "Connection reset by peer" + hint,
        at + "the broker closed the connection" + hint,
    }
