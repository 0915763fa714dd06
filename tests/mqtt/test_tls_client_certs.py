"""MQTT over TLS with a plant's private certificate authority and client certificates
(`--ca-file`, `--cert`, `--key`), against a Mosquitto of the test's own that requires them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from linespeed.mqtt.broker import BrokerError, TlsFiles, parse_broker_url
from linespeed.mqtt.connection import Connection
from linespeed.store.engine import connect
from linespeed.store.schema import events
from tests.mqtt.conftest import Mosquitto, unavailable, wait_until

pytestmark = pytest.mark.service

LINESPEED = str(Path(sys.executable).parent / "linespeed")


def _openssl(*arguments: str, folder: Path) -> None:
    subprocess.run(["openssl", *arguments], cwd=folder, check=True, capture_output=True)


def _signed(name: str, subject: str, folder: Path, extensions: str) -> None:
    """`name`.key and `name`.crt, signed by the test authority."""
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
             "-out", f"{name}.csr", "-subj", subject, folder=folder)  # fmt: skip
    (folder / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile",
             f"{name}.ext", folder=folder)  # fmt: skip


@pytest.fixture
def cert_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mosquitto]:
    """A Mosquitto speaking only TLS that requires a client certificate of the test's own
    authority, which the system does not trust."""
    if shutil.which("openssl") is None:
        unavailable("openssl is needed to make the test's certificates")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    folder = tmp_path / "pki"
    folder.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-out", "ca.crt", "-days", "2", "-subj", "/CN=plant CA", folder=folder)  # fmt: skip
    _signed("server", "/CN=localhost", folder, "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _signed("client", "/CN=linespeed-bridge", folder, "extendedKeyUsage=clientAuth\n")
    broker = Mosquitto(folder)
    broker.config.write_text(
        broker.config.read_text()
        + f"cafile {folder / 'ca.crt'}\ncertfile {folder / 'server.crt'}\n"
        + f"keyfile {folder / 'server.key'}\nrequire_certificate true\n"
    )
    broker.start()
    yield broker
    broker.stop()


def test_the_bridge_and_the_simulator_log_in_with_client_certificates(
    cert_broker: Mosquitto, tmp_path: Path
) -> None:
    pki = cert_broker.folder
    tls = ["--ca-file", str(pki / "ca.crt"), "--cert", str(pki / "client.crt")]
    tls += ["--key", str(pki / "client.key")]
    url = f"mqtts://localhost:{cert_broker.port}"
    db_url = f"sqlite:///{tmp_path / 'tls.db'}"
    env = {**os.environ, "LINESPEED_DB": db_url}
    subprocess.run([LINESPEED, "init", "--simulation"], env=env, check=True, capture_output=True)
    bridge = subprocess.Popen(
        [LINESPEED, "mqtt", "ingest", "--broker", url, *tls, "--max-age-days", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert bridge.stderr is not None
        assert bridge.stderr.readline().startswith(b"bridging "), "the bridge did not start"
        published = subprocess.run(
            [LINESPEED, "simulate", "--days", "0.3", "--mqtt", url, *tls, "--speed", "0", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert published.returncode == 0, published.stderr
        sent = int(json.loads(published.stdout)["published"]["events"])
        store = connect(db_url)

        def stored() -> int:
            with store.connect() as connection:
                return int(
                    connection.execute(select(func.count()).select_from(events)).scalar_one()
                )

        wait_until(lambda: stored() == sent, 60, "every published event stored")
        store.dispose()
    finally:
        bridge.send_signal(signal.SIGTERM)
        bridge.communicate(timeout=30)
    assert bridge.returncode == 0


def test_a_client_without_the_private_authority_or_certificate_is_refused_by_name(
    cert_broker: Mosquitto,
) -> None:
    pki = cert_broker.folder
    address = parse_broker_url(f"mqtts://localhost:{cert_broker.port}")
    with pytest.raises(BrokerError, match="certificate verify failed"):
        Connection(address, "system-cas").open()  # the system does not trust the plant's CA
    no_cert = address.with_tls_files(TlsFiles(ca_file=pki / "ca.crt"))
    with pytest.raises(BrokerError, match=f"localhost:{cert_broker.port}"):
        Connection(no_cert, "no-cert").open()
    with pytest.raises(BrokerError, match=r"--cert .*missing\.crt: cannot use it"):
        no_cert.with_tls_files(
            TlsFiles(ca_file=pki / "ca.crt", cert_file=pki / "missing.crt")
        ).ssl_context()
    with pytest.raises(BrokerError, match="use mqtts://localhost"):
        parse_broker_url("mqtt://localhost:1883").with_tls_files(TlsFiles(ca_file=pki / "ca.crt"))
