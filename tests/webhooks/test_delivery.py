"""Delivery to a receiver on loopback that fails the first attempts: bodies, signatures,
order, retries with back-off, the delivery log, resuming after a restart, giving up."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from linespeed.events.types import UnitCompleted
from linespeed.live import last_seq
from linespeed.plant.model import Plant
from linespeed.webhooks import DeliverySettings, add_webhook, list_deliveries, list_webhooks
from linespeed.webhooks.registry import remove_webhook
from tests.conftest import ingest
from tests.webhooks.conftest import FAST, SECRET, cars, runner, station_news
from tests.webhooks.receiver import Receiver, receiving


def _bodies(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(each.body) for each in receiver.delivered()]


def _until_idle(engine: Engine, settings: DeliverySettings = FAST) -> None:
    runner(engine, settings).run(threading.Event(), until_idle=True)


def test_news_is_posted_signed_in_order_after_failed_attempts(
    milestone_store: Engine, plant: Plant, receiver: Receiver, secret_file: Path
) -> None:
    hook = add_webhook(
        milestone_store, receiver.url, ["milestone", "station.down", "shortage"], secret_file
    )
    stream = cars(plant, 4)
    ingest(milestone_store, [*stream, *station_news(plant, "s")])
    _until_idle(milestone_store)

    assert [each.answered for each in receiver.requests] == [500, 500, 200, 200, 200]
    third_car = [event.vin for event in stream if isinstance(event, UnitCompleted)][2]
    bodies = _bodies(receiver)
    assert [(body["kind"], body["plant"], body["webhook"]) for body in bodies] == [
        ("milestone", plant.plant, hook.id),
        ("station.down", plant.plant, hook.id),
        ("shortage", plant.plant, hook.id),
    ]
    seqs = [body["seq"] for body in bodies]
    assert seqs == sorted(seqs)
    assert bodies[0]["data"]["vin"] == third_car
    assert bodies[0]["data"]["number"] == 3
    assert bodies[1]["data"] | {"ts": None} == {
        "station": plant.lines[0].stations[1].id,
        "line": None,
        "state": "down",
        "reason": "e-stop",
        "ts": None,
    }
    assert bodies[2]["data"]["reason"] == "shortage:BRK-2202"
    assert bodies[2]["data"]["part"] == "BRK-2202"
    for request in receiver.requests:
        assert request.path == "/hooks/linespeed"
        assert request.headers["Content-Type"] == "application/json"
        expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Linespeed-Signature"] == f"sha256={expected}"

    log = list_deliveries(milestone_store)
    assert [(d.seq, d.kind, d.status, d.attempts, d.http_status) for d in log] == [
        (seqs[0], "milestone", "delivered", 3, 200),
        (seqs[1], "station.down", "delivered", 1, 200),
        (seqs[2], "shortage", "delivered", 1, 200),
    ]
    assert all(d.finished_at is not None and d.error is None for d in log)
    ids = [request.headers["X-Linespeed-Delivery"] for request in receiver.requests]
    assert ids == [str(log[0].id)] * 3 + [str(log[1].id), str(log[2].id)]
    assert list_webhooks(milestone_store)[0].after_seq == last_seq(milestone_store)


def test_a_webhook_is_sent_only_its_kinds_unsigned_without_a_secret(
    milestone_store: Engine, plant: Plant, receiver: Receiver
) -> None:
    receiver.failures = 0
    add_webhook(milestone_store, receiver.url, ["shortage"])
    ingest(milestone_store, [*cars(plant, 4), *station_news(plant, "s")])
    _until_idle(milestone_store)
    assert [body["kind"] for body in _bodies(receiver)] == ["shortage"]
    assert "X-Linespeed-Signature" not in receiver.requests[0].headers


def test_a_new_webhook_starts_at_the_newest_event(
    milestone_store: Engine, plant: Plant, receiver: Receiver
) -> None:
    receiver.failures = 0
    ingest(milestone_store, [*cars(plant, 4), *station_news(plant, "old")])
    hook = add_webhook(milestone_store, receiver.url, ["station.down"])
    assert hook.after_seq == last_seq(milestone_store)
    _until_idle(milestone_store)
    assert receiver.requests == []
    ingest(milestone_store, station_news(plant, "new", hours=20))
    _until_idle(milestone_store)
    assert [body["seq"] for body in _bodies(receiver)] == [hook.after_seq + 1]


def test_a_restarted_runner_resumes_from_the_log_without_duplicates(
    milestone_store: Engine, plant: Plant, receiver: Receiver
) -> None:
    add_webhook(milestone_store, receiver.url, ["milestone", "station.down", "shortage"])
    ingest(milestone_store, [*cars(plant, 4), *station_news(plant, "s")])
    first = runner(milestone_store)
    first.run_once()  # the milestone queued and tried once: 500; then the runner stops
    [retrying] = list_deliveries(milestone_store)
    assert (retrying.kind, retrying.status, retrying.attempts) == ("milestone", "retrying", 1)

    _until_idle(milestone_store)  # a new runner, as after a restart
    ingest(milestone_store, station_news(plant, "later", hours=20))
    _until_idle(milestone_store)  # and another

    bodies = _bodies(receiver)
    seqs = [body["seq"] for body in bodies]
    assert len(seqs) == len(set(seqs)) == 5
    assert seqs == sorted(seqs)
    assert [body["kind"] for body in bodies] == [
        "milestone",
        "station.down",
        "shortage",
        "station.down",
        "shortage",
    ]
    log = list_deliveries(milestone_store)
    assert [(d.status, d.attempts) for d in log] == [("delivered", 3)] + [("delivered", 1)] * 4


def test_an_item_is_given_up_after_its_attempts_and_the_next_one_goes(
    milestone_store: Engine, plant: Plant, receiver: Receiver
) -> None:
    receiver.failures = 3
    add_webhook(milestone_store, receiver.url, ["station.down", "shortage"])
    ingest(milestone_store, station_news(plant, "s"))
    _until_idle(
        milestone_store, DeliverySettings(first_delay_s=0.001, poll_s=0.005, max_attempts=3)
    )
    log = list_deliveries(milestone_store)
    assert [(d.kind, d.status, d.attempts, d.http_status) for d in log] == [
        ("station.down", "failed", 3, 500),
        ("shortage", "delivered", 1, 200),
    ]
    assert log[0].error is not None and "500" in log[0].error
    assert [body["kind"] for body in _bodies(receiver)] == ["shortage"]


def test_a_receiver_that_is_not_there_is_retried_and_logged(
    milestone_store: Engine, plant: Plant
) -> None:
    with receiving(Receiver()) as gone:
        url = gone.url
    add_webhook(milestone_store, url, ["station.down"])
    ingest(milestone_store, station_news(plant, "s"))
    _until_idle(
        milestone_store, DeliverySettings(first_delay_s=0.001, poll_s=0.005, max_attempts=2)
    )
    [delivery] = list_deliveries(milestone_store)
    assert (delivery.status, delivery.attempts, delivery.http_status) == ("failed", 2, None)
    assert delivery.error


def test_removing_a_webhook_stops_its_deliveries_and_keeps_its_log(
    milestone_store: Engine, plant: Plant, receiver: Receiver
) -> None:
    receiver.failures = 100
    hook = add_webhook(milestone_store, receiver.url, ["station.down", "shortage"])
    ingest(milestone_store, station_news(plant, "s"))
    runner(milestone_store).run_once()
    remove_webhook(milestone_store, hook.id)
    _until_idle(milestone_store)
    assert len(receiver.requests) == 1
    [delivery] = list_deliveries(milestone_store, hook.id)
    assert (delivery.status, delivery.attempts, delivery.error) == ("failed", 1, "webhook removed")
    assert list_webhooks(milestone_store) == []


def test_ingest_is_not_blocked_while_the_receiver_hangs(
    milestone_store: Engine, plant: Plant
) -> None:
    hold = threading.Event()
    with receiving(Receiver(hold=hold)) as hanging:
        add_webhook(milestone_store, hanging.url, ["station.down"])
        ingest(milestone_store, station_news(plant, "s"))
        delivering = runner(milestone_store)
        delivering.start()
        try:
            assert hanging.arrived.wait(60), "the runner never posted"
            outcomes = ingest(milestone_store, [*cars(plant, 4), *station_news(plant, "t", 20)])
            assert {outcome.status for outcome in outcomes} == {"accepted"}
            assert hanging.requests == []  # still held: ingest went on beside it
        finally:
            hold.set()
            delivering.stop()
    assert [each.answered for each in hanging.requests] == [200]
