"""Subjects, stream names and message ids: contract 3's NATS line, as the MQTT topics map."""

from __future__ import annotations

import hashlib

import pytest

from linespeed.cli import choices
from linespeed.mqtt.topics import LINE_LEVEL, TOPIC_ROOT, events_topic, parse_events_topic
from linespeed.natsio import subjects
from linespeed.natsio.server import NatsError, parse_server_url
from linespeed.natsio.streams import StreamPlan


def test_a_subject_is_its_mqtt_topic_with_dots() -> None:
    assert TOPIC_ROOT.replace("/", ".") == subjects.SUBJECT_ROOT
    assert subjects.LINE_LEVEL == LINE_LEVEL
    for station in ("ga-090", None):
        subject = subjects.events_subject("yz1", "l1", station)
        assert subjects.subject_topic(subject) == events_topic("yz1", "l1", station)
    assert parse_events_topic(subjects.subject_topic("linespeed.v1.yz1.l1._.events")) is not None
    assert parse_events_topic(subjects.subject_topic("linespeed.v1.yz1.l1.stray")) is None


def test_stream_names_and_message_ids() -> None:
    assert subjects.stream_name("yz1") == "LS_YZ1"
    assert subjects.stream_name("berlin-2") == "LS_BERLIN-2"
    assert subjects.plant_subjects("yz1") == "linespeed.v1.yz1.>"
    digest = hashlib.sha256(b'{"id":"e1"}').hexdigest()[:16]
    assert (
        subjects.message_id("e1", "l1", "ga-090", b'{"id":"e1"}') == f"station:ga-090/e1#{digest}"
    )
    assert subjects.message_id("e1", "l1", None, b'{"id":"e1"}') == f"line:l1/e1#{digest}"


def test_the_same_key_with_other_content_has_another_message_id() -> None:
    """JetStream must not drop a conflicting event as a repeat: ingest refuses it."""
    first = subjects.message_id("e1", "l1", "ga-090", b'{"id":"e1","vin":"A"}')
    assert subjects.message_id("e1", "l1", "ga-090", b'{"id":"e1","vin":"A"}') == first
    assert subjects.message_id("e1", "l1", "ga-090", b'{"id":"e1","vin":"B"}') != first


def test_bad_plans_and_urls_are_named() -> None:
    with pytest.raises(NatsError, match=r"bad plant id 'Yz\.1': a plant id is \[a-z0-9-\]\+"):
        StreamPlan(("Yz.1",))
    with pytest.raises(NatsError, match="name at least one plant"):
        StreamPlan(())
    with pytest.raises(NatsError, match="replicas must be 1 to 5, got 7"):
        StreamPlan(("yz1",), replicas=7)
    assert parse_server_url("nats://127.0.0.1") == "nats://127.0.0.1:4222"
    with pytest.raises(NatsError, match="expected nats://HOST:PORT"):
        parse_server_url("mqtt://127.0.0.1:1883")


def test_the_copied_defaults_are_the_librarys() -> None:
    from linespeed.bridges.nats import DEFAULT_ACK_WAIT_S
    from linespeed.natsio.streams import DEFAULT_DUPLICATE_WINDOW_S

    assert choices.DEFAULT_ACK_WAIT_S == DEFAULT_ACK_WAIT_S
    assert choices.DEFAULT_DUPLICATE_WINDOW_S == DEFAULT_DUPLICATE_WINDOW_S
