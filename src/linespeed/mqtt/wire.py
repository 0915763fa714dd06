"""MQTT 5 and 3.1.1 packets on the wire: PUBLISH and PUBACK, and cutting a stream into packets.

Only what a QoS 1 publisher and a QoS 1 subscriber exchange by the thousand (PUBLISH,
PUBACK), built as bytes and read from a byte buffer, so that a stream of small messages costs
a few microseconds each instead of a Python object graph each. The two versions differ here
only in MQTT 5's properties (a PUBLISH carries a property length, 0 from us). The packets of
a session's start and end (CONNECT, CONNACK, SUBSCRIBE, SUBACK) are in `linespeed.mqtt.control`.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

from linespeed.errors import LinespeedError

CONNECT: Final = 0x10
CONNACK: Final = 0x20
PUBLISH: Final = 0x30
PUBACK: Final = 0x40
SUBSCRIBE: Final = 0x82
SUBACK: Final = 0x90
PINGREQ: Final = 0xC0
PINGRESP: Final = 0xD0
DISCONNECT: Final = 0xE0
MQTT_5: Final = 5
MQTT_311: Final = 4
"""Protocol levels as CONNECT carries them: 5 for MQTT 5, 4 for MQTT 3.1.1."""
VERSION_NAMES: Final = {MQTT_5: "MQTT 5", MQTT_311: "MQTT 3.1.1"}

PINGREQ_PACKET: Final = b"\xc0\x00"
DISCONNECT_PACKET: Final = b"\xe0\x00"
_u16 = struct.Struct("!H")
_puback = struct.Struct("!BBH")


class MalformedPacketError(LinespeedError):
    """Bytes from the broker that are not the MQTT packet they claim to be."""

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


def string(text: str | bytes) -> bytes:
    """An MQTT string (or binary data): its length in two bytes, then its UTF-8 bytes."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return _u16.pack(len(data)) + data


def publish_packet(
    topic: bytes,
    payload: bytes,
    mid: int,
    *,
    dup: bool = False,
    retain: bool = False,
    version: int = MQTT_5,
) -> bytes:
    """A QoS 1 PUBLISH packet of `payload` on `topic` (UTF-8) with packet id `mid`."""
    properties = b"\x00" if version == MQTT_5 else b""
    size = 2 + len(topic) + 2 + len(properties) + len(payload)
    first = PUBLISH | 0x02 | (0x08 if dup else 0) | (0x01 if retain else 0)
    return b"".join(
        (
            bytes([first]),
            varint(size),
            _u16.pack(len(topic)),
            topic,
            _u16.pack(mid),
            properties,
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


def read_publish(packet: Packet, version: int = MQTT_5) -> tuple[str, int, bytes]:
    """The topic, packet id (0 for QoS 0) and payload of a PUBLISH packet.

    Raises MalformedPacketError if it is cut short (a topic or properties longer than the
    body), has QoS 3 or a QoS 1 packet id of 0, or uses a topic alias (never asked for).
    """
    body = packet.body
    qos = (packet.first_byte >> 1) & 0x03
    if qos == 3:
        raise MalformedPacketError("PUBLISH packet with QoS 3 (no such QoS)")
    try:
        (topic_length,) = _u16.unpack_from(body, 0)
        position = 2 + topic_length
        if position > len(body):
            raise MalformedPacketError(
                f"bad PUBLISH packet: topic of {topic_length} bytes in a body of {len(body)}"
            )
        topic = body[2:position].decode("utf-8")
        mid = 0
        if qos:
            (mid,) = _u16.unpack_from(body, position)
            position += 2
            if mid == 0:
                raise MalformedPacketError(f"QoS {qos} PUBLISH packet with packet id 0")
        properties_length, multiplier = 0, 1
        while version == MQTT_5:
            digit = body[position]
            position += 1
            properties_length += (digit & 0x7F) * multiplier
            if not digit & 0x80:
                break
            multiplier <<= 7
            if multiplier > 1 << 21:
                raise MalformedPacketError("bad PUBLISH packet: property length over 4 bytes")
    except (struct.error, IndexError, UnicodeDecodeError) as error:
        raise MalformedPacketError(f"bad PUBLISH packet: {error}") from None
    if position + properties_length > len(body):
        raise MalformedPacketError(
            f"bad PUBLISH packet: properties of {properties_length} bytes past its end"
        )
    if not topic:
        raise MalformedPacketError("PUBLISH packet with an empty topic (topic alias)")
    return topic, mid, body[position + properties_length :]


def read_ack(packet: Packet) -> tuple[int, int]:
    """The packet id and reason code (0 when left out, always in 3.1.1) of a PUBACK packet.

    Raises MalformedPacketError if it is shorter than a packet id.
    """
    body = packet.body
    if len(body) < 2:
        raise MalformedPacketError("PUBACK packet shorter than its packet id")
    return _u16.unpack_from(body, 0)[0], body[2] if len(body) > 2 else 0
