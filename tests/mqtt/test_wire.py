"""MQTT 5 packets built and read by the fast paths: no broker needed."""

from __future__ import annotations

import pytest

from linespeed.mqtt.wire import (
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
