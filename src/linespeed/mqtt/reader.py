"""paho's MQTT client, reading the socket in large chunks and handing messages over raw.

paho reads each packet with three or more `recv` calls (a byte for the type, a byte at a
time for the length, then the body) and builds a message object, its properties and a
condition variable for each. A bridge taking in thousands of small messages a second spends
most of its time there. `BufferedClient` reads whatever the socket holds at once, cuts it
into packets, and, when `on_raw_message` is set on a client with manual acknowledgements,
hands each QoS 0 or 1 message to it as (packet id, QoS, topic, payload). Every other packet
(CONNACK, SUBACK, PUBACK, PINGRESP, DISCONNECT, QoS 2) goes through paho as before.
`ack_all` acknowledges many QoS 1 messages in one write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.exception import MalformedPacket as PahoMalformedPacket

from linespeed.mqtt.wire import PUBACK, PUBLISH, MalformedPacketError, Packet, pubacks, read_packets
from linespeed.mqtt.wire import read_publish as read_publish_packet

_READ_BYTES: Final = 256 << 10

RawMessageCallback = Callable[[int, int, str, bytes], None]
"""Called in the network thread with a message's packet id, QoS, topic and payload."""


class BufferedClient(mqtt.Client):
    """A paho client that reads in large chunks; see the module's description."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_raw_message: RawMessageCallback | None = None
        self._read_buffer = bytearray()
        self._read_socket: object = None

    def ack_all(self, mids: list[int]) -> None:
        """Acknowledge these QoS 1 messages (received with manual acknowledgement) at once."""
        if mids:
            self._packet_queue(PUBACK, pubacks(mids), 0, 0)

    def _packet_read(self) -> MQTTErrorCode:
        """Read what the socket holds and handle every whole packet in it."""
        if self._sock is not self._read_socket:  # a new connection: the old one's bytes go
            self._read_buffer.clear()
            self._read_socket = self._sock
        try:
            data = self._sock_recv(_READ_BYTES)
        except BlockingIOError:
            return MQTTErrorCode.MQTT_ERR_AGAIN
        except OSError:
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        if not data:
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        self._read_buffer += data
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        try:
            packets = read_packets(self._read_buffer)
        except MalformedPacketError:
            return MQTTErrorCode.MQTT_ERR_PROTOCOL
        raw = self.on_raw_message if self._manual_ack else None
        for packet in packets:
            if raw is not None and packet.first_byte & 0xF0 == PUBLISH:
                qos = (packet.first_byte >> 1) & 0x03
                if qos < 2:
                    try:
                        topic, mid, payload = read_publish_packet(packet)
                    except MalformedPacketError:
                        return MQTTErrorCode.MQTT_ERR_PROTOCOL
                    raw(mid, qos, topic, payload)
                    continue
            rc = self._handle_in_paho(packet)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return rc
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_in_paho(self, packet: Packet) -> MQTTErrorCode:
        self._in_packet = {
            "command": packet.first_byte,
            "have_remaining": 1,
            "remaining_count": [],
            "remaining_mult": 1,
            "remaining_length": len(packet.body),
            "packet": bytearray(packet.body),
            "to_process": 0,
            "pos": 0,
        }
        try:
            return self._packet_handle()
        except PahoMalformedPacket:
            return MQTTErrorCode.MQTT_ERR_PROTOCOL
        finally:
            self._in_packet = {
                "command": 0,
                "have_remaining": 0,
                "remaining_count": [],
                "remaining_mult": 1,
                "remaining_length": 0,
                "packet": bytearray(b""),
                "to_process": 0,
                "pos": 0,
            }
