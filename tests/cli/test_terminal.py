"""On a terminal: `rebuild` shows a progress bar, a bridge a live status line (on standard
error; both are left out when it is a pipe or a file)."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

LINESPEED = str(Path(sys.executable).parent / "linespeed")


def _on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """`linespeed ARGS` with its standard error on a pseudo-terminal; (process, master fd)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [LINESPEED, *args],
        env={**os.environ, **env, "TERM": "xterm", "COLUMNS": "120"},
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    return process, master


def _read_until(master: int, wanted: bytes, timeout_s: float) -> bytes:
    """What the terminal shows until `wanted` appears (or the program closes it)."""
    shown = b""
    deadline = time.monotonic() + timeout_s
    while wanted not in shown and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the program closed the terminal
                break
            if not chunk:
                break
            shown += chunk
    return shown


@pytest.mark.slow
def test_rebuild_shows_its_progress_on_a_terminal(tmp_path: Path) -> None:
    env = {"LINESPEED_DB": f"sqlite:///{tmp_path / 'yz1.db'}"}
    environment = {**os.environ, **env}
    subprocess.run([LINESPEED, "init", "--simulation"], env=environment, check=True)
    made = subprocess.run(
        [LINESPEED, "simulate", "--days", "2", "--into-db", "--json"],
        env=environment,
        check=True,
        capture_output=True,
    )
    events = json.loads(made.stdout)["events"]
    process, master = _on_a_terminal(["rebuild"], env)
    done = f"{events}/{events}".encode()
    shown = _read_until(master, done, 120)
    process.wait(60)
    os.close(master)
    assert process.returncode == 0
    assert b"rebuild" in shown and done in shown, shown[-500:]
    piped = subprocess.run(
        [LINESPEED, "rebuild"], env={**os.environ, **env}, capture_output=True, check=True
    )
    assert piped.stderr == b""


@pytest.mark.service
def test_a_bridge_shows_a_live_status_line_on_a_terminal(tmp_path: Path) -> None:
    broker = os.environ.get("LINESPEED_TEST_MQTT_URL")
    if not broker:
        if os.environ.get("CI") == "true":
            pytest.fail("under CI the MQTT tests must run: LINESPEED_TEST_MQTT_URL is not set")
        pytest.skip("set LINESPEED_TEST_MQTT_URL to run")
    plant_file = tmp_path / "plant.yaml"
    own = f"t{uuid.uuid4().hex[:8]}"
    plant_file.write_text(
        (Path(__file__).parents[2] / "src/linespeed/plant/default.yaml")
        .read_text()
        .replace("plant: yz1", f"plant: {own}")
    )
    env = {"LINESPEED_DB": f"sqlite:///{tmp_path / 'bridge.db'}"}
    subprocess.run(
        [LINESPEED, "init", "--plant", str(plant_file)],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    process, master = _on_a_terminal(
        ["mqtt", "ingest", "--broker", broker, "--client-id", own, "--max-age-days", "0"], env
    )
    try:
        assert b"bridging" in _read_until(master, b"Ctrl-C to stop", 30)
        shown = _read_until(master, b"messages 0: accepted 0", 10)
        assert b"messages 0: accepted 0, duplicates 0, rejected 0" in shown, shown[-500:]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        os.close(master)
    assert process.returncode == 0
