"""MQTT 5 packets on the wire: the few the fast paths build and read themselves.

Only what a QoS 1 publisher and a QoS 1 subscriber need (CONNECT, CONNACK, PUBLISH,
PUBACK, PINGREQ, DISCONNECT), built as bytes and read from a byte buffer, so that a stream
of small messages costs a few microseconds each instead of a Python object graph each.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

from linespeed.errors import LinespeedError

CONNECT: Final = 0x10
CONNACK: Final = 0x20
PUBLISH: Final = 0x30
PUBACK: Final = 0x40
PINGREQ: Final = 0xC0
PINGRESP: Final = 0xD0
DISCONNECT: Final = 0xE0

PINGREQ_PACKET: Final = b"\xc0\x00"
DISCONNECT_PACKET: Final = b"\xe0\x00"
_SESSION_EXPIRY: Final = 0x11
_RECEIVE_MAXIMUM: Final = 0x21
_u16 = struct.Struct("!H")
_puback = struct.Struct("!BBH")


class MalformedPacketError(LinespeedError):
    """Bytes from the broker that are not the MQTT 5 packet they claim to be."""

    code = "mqtt.packet"


class Packet(NamedTuple):
    """One whole packet read from a buffer: its first byte and its body (after the length)."""

    first_byte: int
    body: bytes


def varint(value: int) -> bytes:
    """The MQTT variable byte integer for `value` (0 to 268,435,455)."""
    out = bytearray()
    while True:
        digit, value = value & 0x7F, value >> 7
        out.append(digit | 0x80 if value else digit)
        if not value:
            return bytes(out)


def _string(text: str | bytes) -> bytes:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return _u16.pack(len(data)) + data


def connect_packet(
    client_id: str,
    *,
    clean_start: bool,
    keepalive_s: int,
    session_expiry_s: int = 0,
    receive_maximum: int | None = None,
    username: str | None = None,
    password: str | None = None,
) -> bytes:
    """A CONNECT packet (MQTT 5)."""
    flags = 0x02 if clean_start else 0
    payload = _string(client_id)
    if username is not None:
        flags |= 0x80
        payload += _string(username)
        if password is not None:
            flags |= 0x40
            payload += _string(password)
    properties = b""
    if session_expiry_s:
        properties += bytes([_SESSION_EXPIRY]) + struct.pack("!I", session_expiry_s)
    if receive_maximum is not None:
        properties += bytes([_RECEIVE_MAXIMUM]) + _u16.pack(receive_maximum)
    body = (
        _string("MQTT")
        + bytes([5, flags])
        + _u16.pack(keepalive_s)
        + varint(len(properties))
        + properties
        + payload
    )
    return bytes([CONNECT]) + varint(len(body)) + body


def publish_packet(topic: bytes, payload: bytes, mid: int, *, dup: bool = False) -> bytes:
    """A QoS 1 PUBLISH packet of `payload` on `topic` (UTF-8) with packet id `mid`."""
    size = 2 + len(topic) + 2 + 1 + len(payload)
    first = PUBLISH | 0x02 | (0x08 if dup else 0)
    return b"".join(
        (
            bytes([first]),
            varint(size),
            _u16.pack(len(topic)),
            topic,
            _u16.pack(mid),
            b"\x00",
            payload,
        )
    )


def pubacks(mids: list[int]) -> bytes:
    """PUBACK packets (success, no properties) for each packet id, as one buffer."""
    return b"".join([_puback.pack(PUBACK, 2, mid) for mid in mids])


def read_packets(buffer: bytearray) -> list[Packet]:
    """The whole packets at the start of `buffer`, which is left holding the rest.

    Raises MalformedPacketError if a length is longer than MQTT allows.
    """
    packets: list[Packet] = []
    position, end = 0, len(buffer)
    while position < end:
        length, shift, cursor, complete = 0, 0, position + 1, False
        while cursor < end:
            digit = buffer[cursor]
            cursor += 1
            length |= (digit & 0x7F) << shift
            if not digit & 0x80:
                complete = True
                break
            shift += 7
            if shift > 21:
                raise MalformedPacketError("remaining length longer than 4 bytes")
        if not complete or cursor + length > end:
            break  # the rest of this packet has not come yet
        packets.append(Packet(buffer[position], bytes(buffer[cursor : cursor + length])))
        position = cursor + length
    del buffer[:position]
    return packets


def read_publish(packet: Packet) -> tuple[str, int, bytes]:
    """The topic, packet id (0 for QoS 0) and payload of a PUBLISH packet.

    Raises MalformedPacketError if it is cut short or uses a topic alias (never asked for).
    """
    body = packet.body
    try:
        (topic_length,) = _u16.unpack_from(body, 0)
        position = 2 + topic_length
        topic = body[2:position].decode("utf-8")
        mid = 0
        if packet.first_byte & 0x06:
            (mid,) = _u16.unpack_from(body, position)
            position += 2
        properties_length, multiplier = 0, 1
        while True:
            digit = body[position]
            position += 1
            properties_length += (digit & 0x7F) * multiplier
            if not digit & 0x80:
                break
            multiplier <<= 7
    except (struct.error, IndexError, UnicodeDecodeError) as error:
        raise MalformedPacketError(f"bad PUBLISH packet: {error}") from None
    if not topic:
        raise MalformedPacketError("PUBLISH packet with an empty topic (topic alias)")
    return topic, mid, body[position + properties_length :]


def read_ack(packet: Packet) -> tuple[int, int]:
    """The packet id and reason code (0 when left out) of a PUBACK packet."""
    body = packet.body
    if len(body) < 2:
        raise MalformedPacketError("PUBACK packet shorter than its packet id")
    return _u16.unpack_from(body, 0)[0], body[2] if len(body) > 2 else 0
