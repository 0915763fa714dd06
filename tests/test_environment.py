"""URLs and passwords from the environment: no secret needs to be on a command line."""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from linespeed.environment import EnvironmentVariableError, db_url, masked_url, nats_url
from tests.conftest import Result, cli_runner
from tests.natsio.conftest import LINESPEED, NatsServer, own_servers

__all__ = ["own_servers"]

Run = Callable[..., Result]
SOURCE = Path(__file__).parents[1] / "src" / "linespeed"
OPERATIONS = Path(__file__).parents[1] / "docs" / "operations.md"


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """`linespeed ARGS` in-process."""
    return cli_runner(capsys, monkeypatch)


def test_every_environment_variable_is_in_the_operations_guide() -> None:
    named = {
        name
        for path in SOURCE.rglob("*.py")
        for name in re.findall(r"LINESPEED_[A-Z_]+[A-Z]", path.read_text(encoding="utf-8"))
    }
    guide = OPERATIONS.read_text(encoding="utf-8")
    assert sorted(name for name in named if f"`{name}`" not in guide) == []
    assert {"LINESPEED_DB_PASSWORD_FILE", "LINESPEED_MQTT_URL", "LINESPEED_NATS_URL"} <= named


def test_a_password_file_completes_a_url_that_names_a_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "db-password"
    secret.write_text("s3cr@t:/ word\n")
    monkeypatch.setenv("LINESPEED_DB", "postgresql+psycopg://plant@db1:5432/yz1")
    monkeypatch.setenv("LINESPEED_DB_PASSWORD_FILE", str(secret))
    url = db_url(None)
    assert url == "postgresql+psycopg://plant:s3cr%40t%3A%2F%20word@db1:5432/yz1"
    assert masked_url(url) == "postgresql+psycopg://plant:***@db1:5432/yz1"
    # a URL that brings its own password, or names no user, is left as it is
    assert db_url("postgresql+psycopg://plant:given@db1/yz1").endswith(":given@db1/yz1")
    assert db_url("sqlite:///yz1.db") == "sqlite:///yz1.db"
    monkeypatch.setenv("LINESPEED_NATS_URL", "nats://ingest@hub:4222")
    monkeypatch.setenv("LINESPEED_NATS_PASSWORD_FILE", str(secret))
    assert nats_url(None) == "nats://ingest:s3cr%40t%3A%2F%20word@hub:4222"


def test_a_password_file_that_cannot_be_read_is_named(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINESPEED_DB_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(EnvironmentVariableError, match="LINESPEED_DB_PASSWORD_FILE: cannot read"):
        db_url("postgresql+psycopg://plant@db1/yz1")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    monkeypatch.setenv("LINESPEED_DB_PASSWORD_FILE", str(empty))
    refused = run("kpi", "--db", "postgresql+psycopg://plant@127.0.0.1:1/yz1")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        f"error: LINESPEED_DB_PASSWORD_FILE: {empty} holds no password on its first line"
    )


def test_the_database_comes_from_the_environment_with_its_password(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "password"
    secret.write_text("hunter2\n")
    monkeypatch.setenv("LINESPEED_DB", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("LINESPEED_DB_PASSWORD_FILE", str(secret))
    assert run("init").exit_code == 0
    assert (tmp_path / "env.db").is_file()
    # PostgreSQL gets the password: init prints the URL it used, its password hidden
    failed = run("init", "--db", "postgresql+psycopg://plant@127.0.0.1:1/yz1")
    assert failed.exit_code == 1
    assert "postgresql+psycopg://plant:***@127.0.0.1:1/yz1" in failed.stderr
    assert "hunter2" not in failed.stderr


@pytest.mark.service
def test_a_nats_server_with_a_password_is_reached_through_the_password_file(
    own_servers: list[NatsServer], tmp_path: Path
) -> None:
    server = NatsServer(tmp_path, "auth", 'authorization { user: ingest, password: "p@ss w0rd" }')
    own_servers.append(server)
    server.start()
    secret = tmp_path / "nats-password"
    secret.write_text("p@ss w0rd\n")
    plant = f"t{uuid.uuid4().hex[:10]}"
    env = {"LINESPEED_NATS_URL": f"nats://ingest@127.0.0.1:{server.port}", "PATH": "/usr/bin"}

    def setup(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LINESPEED, "nats", "setup", "--plant", plant],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )

    refused = setup({})
    assert refused.returncode == 1
    assert "ingest:" not in refused.stderr or "***" in refused.stderr
    made = setup({"LINESPEED_NATS_PASSWORD_FILE": str(secret)})
    assert made.returncode == 0, made.stderr
    assert f"LS_{plant.upper()}: created" in made.stdout
