"""Topics, broker URLs and what a message holds: no broker needed."""

from __future__ import annotations

import re

import msgspec
import pytest

from linespeed.bridges.mqtt_messages import KEPT_BYTES, message_events
from linespeed.ingest.core import RawEvent
from linespeed.mqtt.broker import BrokerAddress, BrokerError, parse_broker_url
from linespeed.mqtt.topics import (
    EventsTopic,
    deadletters_topic,
    events_subscription,
    events_topic,
    milestones_topic,
    parse_events_topic,
)

TOPIC = "linespeed/v1/yz1/l1/ga-090/events"
WHERE = EventsTopic("yz1", "l1", "ga-090")


def test_topics_are_built_and_read_back() -> None:
    assert events_topic("yz1", "l1", "ga-090") == TOPIC
    assert events_topic("yz1", "l1", None) == "linespeed/v1/yz1/l1/_/events"
    assert events_subscription("yz1") == "linespeed/v1/yz1/+/+/events"
    assert events_subscription() == "linespeed/v1/+/+/+/events"
    assert deadletters_topic("yz1") == "linespeed/v1/yz1/deadletters"
    assert milestones_topic("yz1", "l1") == "linespeed/v1/yz1/l1/milestones"
    assert parse_events_topic(TOPIC) == WHERE
    assert parse_events_topic("linespeed/v1/yz1/l1/_/events") == EventsTopic("yz1", "l1", None)
    for other in (
        "linespeed/v1/yz1/deadletters",
        "linespeed/v2/yz1/l1/ga-090/events",
        "linespeed/v1/yz1//ga-090/events",
        "linespeed/v1/yz1/l1/ga-090/events/x",
    ):
        assert parse_events_topic(other) is None, other


def test_broker_urls() -> None:
    assert parse_broker_url("mqtt://127.0.0.1") == BrokerAddress("127.0.0.1", 1883)
    assert parse_broker_url("mqtts://broker.example.com") == BrokerAddress(
        "broker.example.com", 8883, tls=True
    )
    with_login = parse_broker_url("mqtt://line%201:s%40cret@10.0.0.5:1884")
    assert with_login == BrokerAddress("10.0.0.5", 1884, False, "line 1", "s@cret")
    assert str(with_login) == "mqtt://line 1:***@10.0.0.5:1884"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:1883", "expected mqtt://HOST"),
        ("127.0.0.1:1883", "expected mqtt://HOST"),
        ("mqtt://127.0.0.1:99999", "bad port"),
        ("mqtt://u:secret@127.0.0.1:x", "'mqtt://u:***@127.0.0.1:x' has a bad port"),
        ("mqtt://127.0.0.1:1883/topic", "nothing may follow"),
    ],
)
def test_bad_broker_urls_are_named_without_passwords(url: str, message: str) -> None:
    with pytest.raises(BrokerError, match=re.escape(message)) as caught:
        parse_broker_url(url)
    assert "secret" not in str(caught.value)


def _event(**fields: object) -> bytes:
    return msgspec.json.encode({"id": "e-1", "kind": "station.completed", **fields})


def test_one_event_or_an_array_each_with_its_source() -> None:
    one = _event(line="l1", station="ga-090")
    # each event carries the topic's line: ingest checks it against the plant and the car
    assert message_events(one, TOPIC, WHERE, "yz1") == [RawEvent(one, TOPIC, line="l1")]
    two = _event(id="e-2", station="ga-090")
    array = b" [" + one + b", " + two + b"]"
    assert message_events(array, TOPIC, WHERE, "yz1") == [
        RawEvent(one, f"{TOPIC}[0]", line="l1"),
        RawEvent(two, f"{TOPIC}[1]", line="l1"),
    ]
    assert message_events(b"[]", TOPIC, WHERE, "yz1") == []


def test_what_ingest_refuses_goes_through_as_it_is() -> None:
    for payload in (b"{not json", b"[1, 2", b"42", b'{"line": 7}', b"\xff\xfe"):
        assert message_events(payload, TOPIC, WHERE, "yz1") == [RawEvent(payload, TOPIC, line="l1")]
    assert message_events(b"[42]", TOPIC, WHERE, "yz1") == [
        RawEvent(b"42", f"{TOPIC}[0]", line="l1")
    ]
    deep = b"[" * 100_000 + b"]" * 100_000
    assert message_events(deep, TOPIC, WHERE, "yz1") == [RawEvent(deep, TOPIC, line="l1")]
    deep_field = b'{"line": ' + deep + b"}"
    assert message_events(deep_field, TOPIC, WHERE, "yz1") == [
        RawEvent(deep_field, TOPIC, line="l1")
    ]


def test_events_without_a_station_may_come_on_a_station_or_the_line_topic() -> None:
    started = _event(kind="unit.started", line="l1")
    line_level = EventsTopic("yz1", "l1", None)
    assert message_events(started, TOPIC, WHERE, "yz1")[0].refusal is None
    assert message_events(started, "t", line_level, "yz1")[0].refusal is None


@pytest.mark.parametrize(
    ("payload", "where", "refusal"),
    [
        (
            _event(line="l2", station="ga-090"),
            WHERE,
            ("topic.mismatch", "event line 'l2' differs from topic line 'l1'"),
        ),
        (
            _event(line="l1", station="ga-100"),
            WHERE,
            ("topic.mismatch", "event station 'ga-100' differs from topic station 'ga-090'"),
        ),
        (
            _event(station="ga-090"),
            EventsTopic("yz1", "l1", None),
            ("topic.mismatch", "event station 'ga-090' differs from the line-level topic"),
        ),
        (
            _event(station="ga-090"),
            EventsTopic("zz9", "l1", "ga-090"),
            ("plant.unknown", "topic plant 'zz9' is not this store's plant 'yz1'"),
        ),
    ],
)
def test_events_that_disagree_with_their_topic_are_refused(
    payload: bytes, where: EventsTopic, refusal: tuple[str, str]
) -> None:
    assert message_events(payload, TOPIC, where, "yz1") == [
        RawEvent(payload, TOPIC, refusal=refusal)
    ]


def test_a_message_over_the_limit_is_refused_whole_and_its_start_kept() -> None:
    payload = b"[" + b",".join([_event(station="ga-090")] * 10_000) + b"]"
    (refused,) = message_events(payload, TOPIC, WHERE, "yz1", max_payload_bytes=100_000)
    assert refused.payload == payload[:KEPT_BYTES]
    assert refused.refusal == (
        "payload.too_large",
        f"message of {len(payload)} bytes on {TOPIC} is over the limit of 100000 bytes; "
        f"its first {KEPT_BYTES} bytes are kept",
    )
