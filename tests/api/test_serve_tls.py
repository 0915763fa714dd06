"""`linespeed serve --tls-cert --tls-key`: HTTPS with the plant's certificate (made here)."""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from linespeed.api.server import TlsFiles, running_server
from linespeed.errors import LinespeedError

LINESPEED = str(Path(sys.executable).with_name("linespeed"))


@pytest.fixture
def certificate(tmp_path: Path) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test's certificate")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
         "-out", "server.crt", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    return TlsFiles(tmp_path / "server.crt", tmp_path / "server.key")


def test_the_api_answers_over_https_with_the_plant_s_certificate(
    store: Engine, certificate: TlsFiles
) -> None:
    with running_server(store, tls=certificate) as url:
        assert url.startswith("https://")
        health = httpx.get(
            f"{url}/api/v1/health", verify=ssl.create_default_context(cafile=certificate.cert_file)
        )
        assert health.status_code == 200
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{url}/api/v1/health")  # the system does not trust it
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(url.replace("https://", "http://") + "/api/v1/health")


def test_a_key_that_does_not_fit_the_certificate_is_named(
    certificate: TlsFiles, tmp_path: Path
) -> None:
    other = tmp_path / "other.key"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(other), "2048"], check=True, capture_output=True
    )
    with pytest.raises(LinespeedError, match=r"--tls-cert .*server\.crt with --tls-key") as refused:
        TlsFiles(certificate.cert_file, other).check()
    assert refused.value.code == "serve.tls"


@pytest.mark.slow
def test_serve_with_tls_from_the_command_line(
    store: Engine, db_url: str, certificate: TlsFiles
) -> None:
    lonely = subprocess.run(
        [LINESPEED, "serve", "--db", db_url, "--tls-cert", str(certificate.cert_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert lonely.returncode == 1
    assert "give --tls-cert and --tls-key together" in lonely.stderr
    port = _free_port()
    tls = ["--tls-cert", str(certificate.cert_file), "--tls-key", str(certificate.key_file)]
    server = subprocess.Popen(
        [LINESPEED, "serve", "--db", db_url, "--port", str(port), *tls],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith(f"linespeed on https://127.0.0.1:{port}/")
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(
                    f"https://127.0.0.1:{port}/api/v1/health",
                    verify=ssl.create_default_context(cafile=certificate.cert_file),
                    timeout=1,
                )
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert health.status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
