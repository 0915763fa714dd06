"""MQTT 5 and 3.1.1 packets built and read by our own clients: no broker needed."""

from __future__ import annotations

import pytest

from linespeed.mqtt.control import (
    Connack,
    connect_packet,
    read_connack,
    read_suback,
    subscribe_packet,
)
from linespeed.mqtt.wire import (
    MQTT_5,
    MQTT_311,
    PUBACK,
    MalformedPacketError,
    Packet,
    pubacks,
    publish_packet,
    read_ack,
    read_packets,
    read_publish,
    varint,
)


def test_variable_byte_integers() -> None:
    assert [varint(n) for n in (0, 127, 128, 16_383, 16_384, 268_435_455)] == [
        b"\x00",
        b"\x7f",
        b"\x80\x01",
        b"\xff\x7f",
        b"\x80\x80\x01",
        b"\xff\xff\xff\x7f",
    ]


def test_packets_cut_anywhere_are_read_whole_once_they_have_come() -> None:
    stream = (
        publish_packet(b"linespeed/v1/yz1/l1/ga-090/events", b'{"id":"e1"}' * 20, 7)
        + pubacks([1, 65_535])
        + publish_packet(b"t", b"x" * 200, 8, dup=True)
    )
    for cut in range(len(stream) + 1):
        buffer = bytearray(stream[:cut])
        packets = read_packets(buffer)
        buffer += stream[cut:]
        packets += read_packets(buffer)
        assert buffer == b""
        assert [(p.first_byte, len(p.body)) for p in packets] == [
            (0x32, 2 + 33 + 2 + 1 + 220),
            (PUBACK, 2),
            (PUBACK, 2),
            (0x3A, 2 + 1 + 2 + 1 + 200),
        ]
    first, ack1, ack2, last = read_packets(bytearray(stream))
    assert read_publish(first) == ("linespeed/v1/yz1/l1/ga-090/events", 7, b'{"id":"e1"}' * 20)
    assert (read_ack(ack1), read_ack(ack2)) == ((1, 0), (65_535, 0))
    assert read_publish(last) == ("t", 8, b"x" * 200)


def test_publish_properties_are_skipped_and_qos_0_has_no_packet_id() -> None:
    properties = b"\x01\x01" + b"\x03\x00\x10application/json"  # format, content type
    body = b"\x00\x01t" + bytes([len(properties)]) + properties + b"payload"
    assert read_publish(Packet(0x30, body)) == ("t", 0, b"payload")
    assert read_ack(Packet(PUBACK, b"\x00\x05\x87")) == (5, 0x87)


@pytest.mark.parametrize(
    ("packet", "why"),
    [
        (Packet(0x32, b"\x00\x05ab"), "bad PUBLISH"),
        (Packet(0x32, b"\x00\x00\x00\x01\x00x"), "topic alias"),
        (Packet(PUBACK, b"\x00"), "PUBACK"),
    ],
)
def test_malformed_packets_are_named(packet: Packet, why: str) -> None:
    with pytest.raises(MalformedPacketError, match=why):
        if packet.first_byte == PUBACK:
            read_ack(packet)
        else:
            read_publish(packet)


def test_a_length_longer_than_four_bytes_is_refused() -> None:
    with pytest.raises(MalformedPacketError):
        read_packets(bytearray(b"\x30\xff\xff\xff\xff\x01"))


def test_3_1_1_publish_packets_carry_no_properties() -> None:
    packet = publish_packet(b"t/1", b"payload", 9, retain=True, version=MQTT_311)
    assert packet == b"\x33\x0e\x00\x03t/1\x00\x09payload"
    (read,) = read_packets(bytearray(packet))
    assert read_publish(read, MQTT_311) == ("t/1", 9, b"payload")
    assert publish_packet(b"t/1", b"payload", 9, version=MQTT_5) == (
        b"\x32\x0f\x00\x03t/1\x00\x09\x00payload"
    )


def test_connect_packets_of_both_versions() -> None:
    persistent_5 = connect_packet(
        "bridge", clean_start=False, keepalive_s=30, session_expiry_s=0xFFFFFFFF,
        receive_maximum=20_000, username="u", password="p",
    )  # fmt: skip
    assert persistent_5 == (
        b"\x10\x21\x00\x04MQTT\x05\xc0\x00\x1e"
        b"\x08\x11\xff\xff\xff\xff\x21\x4e\x20"
        b"\x00\x06bridge\x00\x01u\x00\x01p"
    )
    persistent_311 = connect_packet(
        "bridge", version=MQTT_311, clean_start=False, keepalive_s=30,
        session_expiry_s=0xFFFFFFFF, receive_maximum=20_000,
    )  # fmt: skip
    assert persistent_311 == b"\x10\x12\x00\x04MQTT\x04\x00\x00\x1e\x00\x06bridge"


def test_connack_and_suback_of_both_versions() -> None:
    assert read_connack(b"\x01\x00\x03\x21\x00\x14") == Connack(True, 0, 20)
    assert read_connack(b"\x00\x00\x0a\x26\x00\x01k\x00\x01v\x21\x01\x00") == Connack(
        False, 0, 256
    )  # a user property before the Receive Maximum
    assert read_connack(b"\x00\x01") == Connack(False, 1, None)
    assert read_connack(b"\x00\x01").refuses_version()
    assert read_connack(b"\x00\x84\x00").refusal() == "unsupported protocol version (0x84)"
    assert read_connack(b"\x00\x05").refusal() == "not authorized (0x05)"
    assert subscribe_packet("a/+", 7) == b"\x82\x09\x00\x07\x00\x00\x03a/+\x01"
    assert subscribe_packet("a/+", 7, version=MQTT_311) == b"\x82\x08\x00\x07\x00\x03a/+\x01"
    assert read_suback(b"\x00\x07\x00\x01") == (7, [1])
    assert read_suback(b"\x00\x07\x80", version=MQTT_311) == (7, [0x80])
    with pytest.raises(MalformedPacketError, match="CONNACK"):
        read_connack(b"\x00")
    with pytest.raises(MalformedPacketError, match="SUBACK"):
        read_suback(b"\x00")
