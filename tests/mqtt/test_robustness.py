"""What the connection does with brokers that misbehave or go away: a full window of
publications, a broker that stops reading, a flood of QoS 0 messages, a session taken over by
the same client id, and malformed PUBLISH packets; against the fake brokers of test_versions.
"""

from __future__ import annotations

import logging
import select
import struct
import threading

import pytest
from sqlalchemy import create_engine

from linespeed.bridges.mqtt import BridgeSettings, MqttBridge, _Batch
from linespeed.ingest.core import Outcome, RawEvent
from linespeed.mqtt.broker import BrokerAddress, BrokerError
from linespeed.mqtt.connection import MAX_PUBLICATIONS, Connection, Message, reconnect_delay_s
from linespeed.mqtt.wire import (
    MQTT_5,
    PUBACK,
    PUBLISH,
    MalformedPacketError,
    Packet,
    pubacks,
    publish_packet,
    read_publish,
    varint,
)
from tests.mqtt.conftest import wait_until
from tests.mqtt.test_versions import ACCEPTED_5, Client, fake_broker

ACCEPTED_5_RECEIVE_MAXIMUM_2 = b"\x20\x06\x00\x00\x03\x21\x00\x02"
SESSION_TAKEN_OVER = b"\xe0\x02\x8e\x00"


def qos0_packet(topic: bytes, payload: bytes) -> bytes:
    """A QoS 0 MQTT 5 PUBLISH packet (no packet id, no properties)."""
    body = struct.pack("!H", len(topic)) + topic + b"\x00" + payload
    return bytes([PUBLISH]) + varint(len(body)) + body


def raw_publish(first_byte: int, body: bytes) -> bytes:
    """A PUBLISH packet of any first byte and body, well-formed or not."""
    return bytes([first_byte]) + varint(len(body)) + body


# --- 3.1/3.2: a malformed PUBLISH is an error, never a message ---


@pytest.mark.parametrize(
    ("packet", "why"),
    [
        (Packet(0x32, b"\x00\x09abc\x00\x01\x00m"), "topic of 9 bytes"),
        (Packet(0x32, b"\x00\x01t\x00\x01\x05m"), "properties of 5 bytes past its end"),
        (Packet(0x36, b"\x00\x01t\x00\x01\x00m"), "QoS 3"),
        (Packet(0x32, b"\x00\x01t\x00\x00\x00m"), "packet id 0"),
    ],
)
def test_a_malformed_publish_packet_is_refused_naming_the_problem(packet: Packet, why: str) -> None:
    with pytest.raises(MalformedPacketError, match=why):
        read_publish(packet, MQTT_5)


def test_a_well_formed_publish_packet_is_read_whole() -> None:
    assert read_publish(Packet(0x32, b"\x00\x01t\x00\x07\x00payload"), MQTT_5) == (
        "t",
        7,
        b"payload",
    )
    assert read_publish(Packet(0x30, b"\x00\x01t\x00m"), MQTT_5) == ("t", 0, b"m")


@pytest.mark.slow  # a reconnection waits a second
def test_a_malformed_publish_drops_the_connection_and_never_reaches_the_bridge(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    connections = 0
    acknowledged: list[int] = []

    def qos3_then_good(client: Client) -> None:
        nonlocal connections
        connections += 1
        if connections == 1:
            client.sock.sendall(ACCEPTED_5 + raw_publish(0x36, b"\x00\x01t\x00\x01\x00bad"))
        else:
            client.sock.sendall(ACCEPTED_5 + publish_packet(b"t", b"good", 2))
        while True:
            packet = client.read()
            if packet.first_byte == PUBACK:
                acknowledged.append(struct.unpack("!H", packet.body[:2])[0])

    received: list[Message] = []
    with fake_broker(qos3_then_good) as (address, _clients):
        connection = Connection(address, "bridge")
        connection.on_message = received.append
        connection.open()
        try:
            wait_until(lambda: bool(received), 10, "the good message")
            wait_until(lambda: acknowledged == [2], 5, "its acknowledgement")
        finally:
            connection.close()
    assert [(m.generation, m.qos, m.payload) for m in received] == [(2, 1, b"good")]
    assert "QoS 3" in caplog.text


# --- 2.1: a full window of publications never blocks for ever ---


def test_publishing_while_the_broker_is_away_stops_at_the_bound_instead_of_spinning() -> None:
    connection = Connection(BrokerAddress("127.0.0.1", 1), "away")  # never opened
    outcome: list[object] = []

    def publish_until_refused() -> None:
        published = 0
        try:
            while published <= 70_000:
                connection.publish("linespeed/v1/p1/deadletters", b"{}")
                published += 1
        except BrokerError as error:
            outcome.extend([published, str(error)])

    publisher = threading.Thread(target=publish_until_refused, daemon=True)
    publisher.start()
    publisher.join(30)
    assert not publisher.is_alive(), "publish spins holding the connection's lock"
    assert outcome[0] == MAX_PUBLICATIONS
    assert "unacknowledged" in str(outcome[1])
    assert not connection.try_publish("linespeed/v1/p1/deadletters", b"{}")


def test_a_dead_letter_is_not_published_while_the_broker_is_away() -> None:
    connection = Connection(BrokerAddress("127.0.0.1", 1), "away")  # never opened
    assert not connection.try_publish("linespeed/v1/p1/deadletters", b"{}")


def test_no_more_than_the_brokers_receive_maximum_publications_fly_at_once() -> None:
    seen: list[int] = []
    beyond_the_window: list[int] = []

    def acknowledge_two_at_a_time(client: Client) -> None:
        client.sock.sendall(ACCEPTED_5_RECEIVE_MAXIMUM_2)
        while True:
            packet = client.read()
            if packet.first_byte & 0xF0 == PUBLISH:
                seen.append(struct.unpack("!H", packet.body[3:5])[0])
                if len(seen) % 2 == 0:  # anything beyond two would be here within 0.1 s
                    more = client.buffer or select.select([client.sock], [], [], 0.1)[0]
                    if more:
                        beyond_the_window.append(len(seen))
                    client.sock.sendall(pubacks(seen[-2:]))

    with fake_broker(acknowledge_two_at_a_time) as (address, _clients):
        connection = Connection(address, "publisher")
        connection.open()
        try:
            for number in range(6):
                connection.publish("t", b"m%d" % number)
            connection.drain(5)
        finally:
            connection.close()
    assert seen == [1, 2, 3, 4, 5, 6]
    assert beyond_the_window == []


# --- 2.2: a broker that stops reading is left, and close() does not hang ---


@pytest.mark.slow  # a second or two of a stuck socket
def test_a_broker_that_stops_reading_is_left_and_close_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("linespeed.mqtt.connection.KEEPALIVE_S", 0.5)
    stop = threading.Event()

    def accept_then_never_read(client: Client) -> None:
        client.sock.sendall(ACCEPTED_5)
        stop.wait(30)

    with fake_broker(accept_then_never_read) as (address, _clients):
        connection = Connection(address, "stuck")
        connection.open()
        try:
            for _ in range(64):
                connection.publish("linespeed/v1/p1/deadletters", b"x" * (1 << 20))
            wait_until(lambda: connection.generation >= 2, 10, "a new connection")
            closer = threading.Thread(target=connection.close, daemon=True)
            closer.start()
            closer.join(8)
            assert not closer.is_alive(), "close() blocks on a broker that stopped reading"
        finally:
            stop.set()


# --- 2.3: QoS 0 messages count against the receive bound ---


def test_qos_0_messages_count_against_the_receive_bound() -> None:
    def thirty_qos0_messages(client: Client) -> None:
        client.sock.sendall(ACCEPTED_5 + b"".join(qos0_packet(b"t", b"m%d" % n) for n in range(30)))
        threading.Event().wait(30)

    received: list[Message] = []
    with fake_broker(thirty_qos0_messages) as (address, _clients):
        connection = Connection(
            address, "bridge", manual_ack=True, persistent=True, receive_maximum=5
        )
        connection.on_message = received.append
        connection.open()
        try:
            wait_until(lambda: len(received) == 5, 5, "five messages")
            threading.Event().wait(0.3)
            assert len(received) == 5  # no more while five are not released
            connection.acknowledge(connection.generation, [0, 0])
            wait_until(lambda: len(received) == 7, 5, "two more messages")
        finally:
            connection.close()
    assert [(m.qos, m.mid, m.payload) for m in received] == [(0, 0, b"m%d" % n) for n in range(7)]


# --- 2.5: a session taken over backs off and is named ---


@pytest.mark.parametrize(("jitter", "spread"), [("low", 1.0), ("high", 1.25)])
def test_the_reconnection_wait_doubles_to_a_minute_with_jitter(
    monkeypatch: pytest.MonkeyPatch, jitter: str, spread: float
) -> None:
    # The jitter drawn at either end of its range: the whole sequence of waits, exactly.
    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return low if jitter == "low" else high

    monkeypatch.setattr("linespeed.mqtt.connection.random.uniform", uniform)
    waits_s = [reconnect_delay_s(attempt) for attempt in range(10)]
    assert drawn == [(1.0, 1.25)] * 10
    assert waits_s == [base * spread for base in (1, 2, 4, 8, 16, 32, 60, 60, 60, 60)]


def test_a_session_taken_over_again_and_again_backs_off_and_names_the_client_id(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    attempts: list[int] = []

    def quick(attempt: int) -> float:
        attempts.append(attempt)
        return 0.01

    monkeypatch.setattr("linespeed.mqtt.connection.reconnect_delay_s", quick)

    def take_over(client: Client) -> None:
        client.sock.sendall(ACCEPTED_5 + SESSION_TAKEN_OVER)
        threading.Event().wait(5)

    with fake_broker(take_over) as (address, _clients):
        connection = Connection(address, "line-3-bridge", persistent=True)
        connection.open()
        try:
            wait_until(lambda: len(attempts) >= 5, 10, "five reconnections")
        finally:
            connection.close()
    assert attempts[:5] == [0, 1, 2, 3, 4]  # the back-off grows: no reset on each CONNECT
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("took the session of client id 'line-3-bridge' over" in e for e in errors)
    assert any("dropped client id 'line-3-bridge'" in e for e in errors)


def test_the_bridge_counts_a_dead_letter_it_cannot_publish_and_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    away = BrokerAddress("127.0.0.1", 1)
    connection = Connection(away, "away")  # never opened: the broker is away
    bridge = MqttBridge(create_engine("sqlite://"), BridgeSettings(broker=away))
    topic = "linespeed/v1/p1/l1/s1/events"
    batch = _Batch([Message(1, 7, 1, topic, b"{}", False, False)], [RawEvent(b"{}", topic)], ["p1"])
    bridge._acknowledge(connection, batch, [Outcome("rejected", "e-1", topic, "event.bad")])
    connection.drain(0.1)  # nothing left waiting for the broker
    assert bridge.report.dead_letters_published == 0
    assert bridge.report.dead_letters_unpublished == 1
    assert "dead letter e-1 not published to linespeed/v1/p1/deadletters" in caplog.text
