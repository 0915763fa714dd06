"""The packets that start and shape a session, MQTT 5 and 3.1.1: CONNECT, CONNACK,
SUBSCRIBE, SUBACK.

MQTT 3.1.1 (protocol level 4) has no properties: a persistent session is `clean session`
off (no expiry), and there is no Receive Maximum, so a subscriber bounds its unacknowledged
messages itself (see `linespeed.mqtt.connection`).
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

from linespeed.mqtt.wire import MQTT_5, SUBSCRIBE, MalformedPacketError, string, varint

CONNECT: Final = 0x10
REFUSED_PROTOCOL_311: Final = 0x01
"""CONNACK return code of a 3.1.1 broker: unacceptable protocol version."""
REFUSED_PROTOCOL_5: Final = 0x84
"""CONNACK reason code of an MQTT 5 broker: unsupported protocol version."""
_SESSION_EXPIRY: Final = 0x11
_RECEIVE_MAXIMUM: Final = 0x21
_USER_PROPERTY: Final = 0x26
_u16 = struct.Struct("!H")

_PROPERTY_SIZES: Final = {
    0x01: 1, 0x02: 4, 0x11: 4, 0x13: 2, 0x17: 1, 0x19: 1, 0x21: 2, 0x22: 2, 0x23: 2,
    0x24: 1, 0x25: 1, 0x27: 4, 0x28: 1, 0x29: 1, 0x2A: 1, 0x0B: 0,
}  # fmt: skip
"""Byte sizes of fixed-size MQTT 5 properties (0: a variable byte integer)."""

_CONNACK_WORDS: Final = {
    0x01: "unacceptable protocol version",
    0x02: "client id rejected",
    0x03: "server unavailable",
    0x04: "bad user name or password",
    0x05: "not authorized",
    0x80: "unspecified error",
    0x84: "unsupported protocol version",
    0x85: "client id not valid",
    0x86: "bad user name or password",
    0x87: "not authorized",
    0x88: "server unavailable",
    0x89: "server busy",
    0x8A: "banned",
}
"""CONNACK codes in words: 3.1.1 return codes (below 0x80) and MQTT 5 reason codes."""


class Connack(NamedTuple):
    """What the broker answered a CONNECT with."""

    session_present: bool
    reason: int
    """0 for success; a 3.1.1 return code or an MQTT 5 reason code otherwise."""
    receive_maximum: int | None
    """The broker's Receive Maximum (MQTT 5, when it sets one)."""

    def refusal(self) -> str | None:
        """Why the broker refused us, in words with the code; None if it accepted us."""
        if self.reason == 0:
            return None
        words = _CONNACK_WORDS.get(self.reason)
        return f"reason {self.reason:#04x}" if words is None else f"{words} ({self.reason:#04x})"

    def refuses_version(self) -> bool:
        """Whether the broker refused the protocol version (try an older one)."""
        return self.reason in (REFUSED_PROTOCOL_311, REFUSED_PROTOCOL_5)


def connect_packet(
    client_id: str,
    *,
    version: int = MQTT_5,
    clean_start: bool,
    keepalive_s: int,
    session_expiry_s: int = 0,
    receive_maximum: int | None = None,
    username: str | None = None,
    password: str | None = None,
) -> bytes:
    """A CONNECT packet; in 3.1.1 the session expiry and Receive Maximum are left out."""
    flags = 0x02 if clean_start else 0
    payload = string(client_id)
    if username is not None:
        flags |= 0x80
        payload += string(username)
        if password is not None:
            flags |= 0x40
            payload += string(password)
    properties = b""
    if version == MQTT_5:
        if session_expiry_s:
            properties += bytes([_SESSION_EXPIRY]) + struct.pack("!I", session_expiry_s)
        if receive_maximum is not None:
            properties += bytes([_RECEIVE_MAXIMUM]) + _u16.pack(receive_maximum)
        properties = varint(len(properties)) + properties
    body = string("MQTT") + bytes([version, flags]) + _u16.pack(keepalive_s) + properties + payload
    return bytes([CONNECT]) + varint(len(body)) + body


def read_connack(body: bytes) -> Connack:
    """The broker's answer to CONNECT, in either version (told apart by the code).

    Raises MalformedPacketError if it is shorter than its two fixed bytes.
    """
    if len(body) < 2:
        raise MalformedPacketError("CONNACK packet shorter than 2 bytes")
    receive_maximum = _receive_maximum(body[2:]) if len(body) > 2 else None
    return Connack(bool(body[0] & 0x01), body[1], receive_maximum)


def subscribe_packet(topic_filter: str, mid: int, *, version: int = MQTT_5) -> bytes:
    """A SUBSCRIBE packet asking QoS 1 for one topic filter."""
    properties = b"\x00" if version == MQTT_5 else b""
    body = _u16.pack(mid) + properties + string(topic_filter) + b"\x01"
    return bytes([SUBSCRIBE]) + varint(len(body)) + body


def read_suback(body: bytes, *, version: int = MQTT_5) -> tuple[int, list[int]]:
    """The packet id and the granted QoS (or failure code >= 0x80) per filter of a SUBACK.

    Raises MalformedPacketError if it is cut short.
    """
    try:
        (mid,) = _u16.unpack_from(body, 0)
        position = 2
        if version == MQTT_5:
            length, shift = 0, 0
            while True:
                digit = body[position]
                position += 1
                length |= (digit & 0x7F) << shift
                shift += 7
                if not digit & 0x80:
                    break
            position += length
    except (struct.error, IndexError):
        raise MalformedPacketError("SUBACK packet cut short") from None
    return mid, list(body[position:])


def _receive_maximum(properties_with_length: bytes) -> int | None:
    """The Receive Maximum among CONNACK properties (None when it sets none)."""
    try:
        position, length, shift = 0, 0, 0
        while True:
            digit = properties_with_length[position]
            position += 1
            length |= (digit & 0x7F) << shift
            shift += 7
            if not digit & 0x80:
                break
        properties = properties_with_length[position : position + length]
        index = 0
        while index < len(properties):
            identifier = properties[index]
            index += 1
            if identifier == _RECEIVE_MAXIMUM:
                return int(_u16.unpack_from(properties, index)[0])
            size = _PROPERTY_SIZES.get(identifier)
            if size is None:  # a string or binary, or a user property (two strings)
                for _ in range(2 if identifier == _USER_PROPERTY else 1):
                    index += 2 + _u16.unpack_from(properties, index)[0]
            elif size == 0:  # variable byte integer
                while properties[index] & 0x80:
                    index += 1
                index += 1
            else:
                index += size
    except (struct.error, IndexError):
        raise MalformedPacketError("CONNACK properties cut short") from None
    return None
