"""`linespeed webhook add`, `list`, `remove`, `deliveries` and `run`, read back through the
library; bad input refused with a message naming it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from sqlalchemy import Engine

from linespeed.cli import webhook as cli_webhook
from linespeed.plant.model import Plant
from linespeed.store.plant_stores import plant_store
from linespeed.webhooks import KINDS, DeliverySettings, list_deliveries, list_webhooks
from linespeed.webhooks.log import STATUSES
from tests.conftest import Result, cli_runner, ingest
from tests.second_plant import second_plant
from tests.webhooks.conftest import SECRET, station_news
from tests.webhooks.receiver import Receiver, receiving

Run = Callable[..., Result]


@pytest.fixture
def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, milestone_store: Engine
) -> Iterator[Run]:
    """`linespeed ARGS --db <the milestone store>`; signal handlers restored after."""
    invoke = cli_runner(capsys, monkeypatch)
    url = milestone_store.url.render_as_string(hide_password=False)
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield lambda *args: invoke(*args, "--db", url)
    for number, handler in handlers.items():
        signal.signal(number, handler)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver that answers 200 at once."""
    with receiving(Receiver()) as running:
        yield running


def test_add_list_deliver_and_remove(
    run: Run, milestone_store: Engine, plant: Plant, receiver: Receiver, secret_file: Path
) -> None:
    added = run(
        "webhook", "add", receiver.url, "--on", "shortage", "--on", "milestone",
        "--secret-file", str(secret_file), "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    hook: dict[str, Any] = added.json()
    assert {key: hook[key] for key in ("id", "url", "on", "signed", "after_seq")} == {
        "id": 1,
        "url": receiver.url,
        "on": ["milestone", "shortage"],
        "signed": True,
        "after_seq": 0,
    }
    listed = run("webhook", "list")
    assert listed.stdout.splitlines() == [
        f"1 POST {receiver.url} on milestone, shortage (signed); after event 0"
    ]
    assert SECRET not in listed.stdout + run("webhook", "list", "--json").stdout

    ingest(milestone_store, station_news(plant, "s"))
    assert run("webhook", "run", "--until-idle", "--poll-s", "0.01").exit_code == 0
    assert [json.loads(each.body)["kind"] for each in receiver.delivered()] == ["shortage"]

    shown = run("webhook", "deliveries", "--webhook", "1", "--json").json()
    assert [
        {key: row[key] for key in ("id", "webhook", "kind", "status", "attempts", "http_status")}
        for row in shown
    ] == [
        {
            "id": 1,
            "webhook": 1,
            "kind": "shortage",
            "status": "delivered",
            "attempts": 1,
            "http_status": 200,
        }
    ]
    text = run("webhook", "deliveries", "--status", "delivered").stdout
    assert text.startswith(f"#1 webhook 1 event {shown[0]['seq']} shortage: delivered, 1 attempt")

    removed = run("webhook", "remove", "1")
    assert removed.stdout == f"webhook 1 removed: {receiver.url}\n"
    assert list_webhooks(milestone_store) == []
    assert len(list_deliveries(milestone_store)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "ftp://example.com/x", "--on", "milestone"), "URL 'ftp://example.com/x' is not"),
        (("add", "example.com/hook", "--on", "milestone"), "is not an http(s) URL"),
        (("add", "https://example.com/x", "--on", "car"), "'car' is not a kind of news: give --on"),
        (("add", "https://example.com/x", "--on", "milestone", "--secret-file", "missing"),
         "--secret-file missing: cannot be read"),
        (("remove", "9"), "this plant has no webhook 9 (it has: none)"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_a_message(
    run: Run, milestone_store: Engine, args: tuple[str, ...], message: str
) -> None:
    result = run("webhook", *args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert list_webhooks(milestone_store) == []


def test_an_empty_secret_file_is_refused(run: Run, tmp_path: Path) -> None:
    empty = tmp_path / "empty.secret"
    empty.write_text("\n", encoding="utf-8")
    result = run(
        "webhook", "add", "https://example.com/x", "--on", "milestone",
        "--secret-file", str(empty),
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"--secret-file {empty}: is empty" in result.stderr


def test_webhook_run_delivers_until_sigterm(
    milestone_store: Engine, plant: Plant, receiver: Receiver
) -> None:
    url = milestone_store.url.render_as_string(hide_password=False)
    linespeed = Path(sys.executable).parent / "linespeed"
    subprocess.run(
        [linespeed, "webhook", "add", receiver.url, "--on", "station.down", "--db", url],
        check=True,
        capture_output=True,
    )
    ingest(milestone_store, station_news(plant, "s"))
    process = subprocess.Popen(
        [linespeed, "webhook", "run", "--db", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert receiver.arrived.wait(120), "webhook run never posted"
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 0
    assert stdout.decode().startswith("delivering webhooks; Ctrl-C stops")
    assert [json.loads(each.body)["kind"] for each in receiver.requests] == ["station.down"]


def test_the_cli_s_copies_are_the_library_s() -> None:
    settings = DeliverySettings()
    assert cli_webhook.KINDS == KINDS
    assert get_args(cli_webhook.DeliveryStatus) == STATUSES
    assert settings.timeout_s == cli_webhook.DEFAULT_TIMEOUT_S
    assert settings.max_attempts == cli_webhook.DEFAULT_MAX_ATTEMPTS
    assert settings.poll_s == cli_webhook.DEFAULT_POLL_S


def test_webhooks_belong_to_one_plant_of_a_store_of_several(
    run: Run, milestone_store: Engine, plant: Plant, receiver: Receiver, tmp_path: Path
) -> None:
    plant_file, _ = second_plant(tmp_path)
    assert run("init", "--plant", str(plant_file)).exit_code == 0
    unnamed = run("webhook", "add", receiver.url, "--on", "station.down")
    assert unnamed.exit_code == 1 and "name one with --plant" in unnamed.stderr
    added = run("webhook", "add", receiver.url, "--on", "station.down", "--plant", "yz2")
    assert added.exit_code == 0, added.stderr
    assert run("webhook", "list", "--plant", "yz1", "--json").json() == []

    url = milestone_store.url.render_as_string(hide_password=False)
    with plant_store(url, "yz2") as second:
        ingest(second, station_news(plant, "s"))
    ingest(milestone_store, station_news(plant, "s"))  # yz1's news: not for yz2's webhook
    finished = run("webhook", "run", "--until-idle", "--poll-s", "0.01", "--plant", "yz2")
    assert finished.exit_code == 0, finished.stderr
    [body] = [json.loads(each.body) for each in receiver.delivered()]
    assert (body["plant"], body["kind"], body["seq"]) == ("yz2", "station.down", 1)
