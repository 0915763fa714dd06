"""The example deployment in deploy/: systemd units that systemd accepts, hardened, restarting
always, whose commands this linespeed runs; a Mosquitto configuration Mosquitto starts with."""

from __future__ import annotations

import configparser
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

DEPLOY = Path(__file__).parents[1] / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
LINESPEED = str(Path(sys.executable).parent / "linespeed")
INSTALLED = "/opt/linespeed/.venv/bin/linespeed"


def _service(unit: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(unit)
    return parser["Service"]


def test_there_is_a_unit_for_serve_and_each_bridge() -> None:
    commands = {" ".join(shlex.split(_service(unit)["ExecStart"])[1:3]) for unit in UNITS}
    assert {"serve --host", "mqtt ingest", "nats ingest"} <= commands


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_a_unit_restarts_always_and_gives_secrets_as_files(unit: Path) -> None:
    service = _service(unit)
    assert service["Restart"] == "always"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert "PASSWORD=" not in unit.read_text()  # passwords only as files (LoadCredential=)
    assert service["User"] == "linespeed"


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_a_unit_s_command_is_one_this_linespeed_runs(unit: Path) -> None:
    words = shlex.split(_service(unit)["ExecStart"])
    assert words[0] == INSTALLED
    arguments = [
        word.replace("${CREDENTIALS_DIRECTORY}", "/run/credentials/x").replace(
            "${LINESPEED_PLANT}", "yz1"
        )
        for word in words[1:]
    ]
    # --help after the options: an option this linespeed does not know is an error (exit 2)
    checked = subprocess.run(
        [LINESPEED, *arguments, "--help"], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_systemd_accepts_a_unit_and_rates_it_hardened(unit: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    local = tmp_path / unit.name
    local.write_text(
        unit.read_text()
        .replace(INSTALLED, LINESPEED)
        .replace("/etc/linespeed/linespeed.env", str(DEPLOY / "systemd" / "linespeed.env"))
    )
    verified = subprocess.run(
        [analyze, "verify", "--man=no", str(local)], capture_output=True, text=True, timeout=60
    )
    assert (verified.returncode, verified.stderr) == (0, "")
    rated = subprocess.run(
        [analyze, "security", "--offline=yes", "--threshold=40", str(local)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rated.returncode == 0, rated.stdout[-2000:]  # exposure at most 4.0 of 10


def _openssl(*arguments: str, folder: Path) -> None:
    subprocess.run(["openssl", *arguments], cwd=folder, check=True, capture_output=True)


def test_mosquitto_starts_with_the_plant_configuration(tmp_path: Path) -> None:
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(mosquitto).exists() or shutil.which("openssl") is None:
        pytest.skip("mosquitto and openssl are needed")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "plant-ca.crt", "-days", "2", "-subj", "/CN=plant CA", folder=tmp_path)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key",
             "-out", "broker.csr", "-subj", "/CN=localhost", folder=tmp_path)  # fmt: skip
    _openssl("x509", "-req", "-in", "broker.csr", "-CA", "plant-ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "broker.crt", "-days", "2", folder=tmp_path)  # fmt: skip
    (tmp_path / "passwords").write_text("")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = (
        (DEPLOY / "mosquitto" / "plant.conf")
        .read_text()
        .replace("listener 8883 0.0.0.0", f"listener {port} 127.0.0.1")
        .replace("/etc/mosquitto/certs/", f"{tmp_path}/")
        .replace("/etc/mosquitto/passwords", str(tmp_path / "passwords"))
        .replace("/etc/mosquitto/acl", str(DEPLOY / "mosquitto" / "acl"))
        .replace("/var/lib/mosquitto/", f"{tmp_path}/")
        .replace("log_dest syslog", f"log_dest file {tmp_path / 'mosquitto.log'}")
    )
    (tmp_path / "plant.conf").write_text(config + "user root\n")
    broker = subprocess.Popen([mosquitto, "-c", str(tmp_path / "plant.conf")])
    try:
        deadline = time.monotonic() + 10
        while True:
            assert broker.poll() is None, (tmp_path / "mosquitto.log").read_text()
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "mosquitto did not listen"
            time.sleep(0.05)
    finally:
        broker.terminate()
        broker.wait(10)
