"""A QoS 1 publisher that keeps up with a line: pipelined, one thread, no object per message.

Messages are written back to back into one buffer and sent in large writes; the broker's
PUBACKs are read in bulk. Every message is kept until the broker acknowledges it; when the
connection drops, the publisher reconnects on its own and sends every unacknowledged message
again, in order, marked as a duplicate (events are idempotent by id, so a repeat is harmless).
It speaks MQTT 5, or 3.1.1 with a broker that refuses version 5 (`linespeed.mqtt.handshake`).
"""

from __future__ import annotations

import contextlib
import logging
import select
import ssl
import time
from collections import Counter
from typing import Final

from linespeed.mqtt.broker import BrokerAddress, BrokerError
from linespeed.mqtt.handshake import (
    CONNECT_TIMEOUT_S,
    KEEPALIVE_S,
    VERSIONS,
    Socket,
    open_session,
)
from linespeed.mqtt.wire import (
    DISCONNECT,
    DISCONNECT_PACKET,
    MQTT_5,
    PINGREQ_PACKET,
    PUBACK,
    MalformedPacketError,
    Packet,
    publish_packet,
    read_ack,
    read_packets,
)

DEFAULT_WINDOW: Final = 1_000
"""Messages sent ahead of the broker's acknowledgements."""
MAX_WINDOW: Final = 65_535
_SEND_BYTES: Final = 64 << 10
_READ_BYTES: Final = 256 << 10
_RECONNECT_DELAYS_S: Final = (1.0, 2.0, 4.0, 5.0)

log = logging.getLogger(__name__)


class QosOnePublisher:
    """Publishes QoS 1 messages in order over one connection (clean start), MQTT 5 or 3.1.1.

    Not thread-safe: one thread calls `publish`, `pause`, `drain` and `close`.
    """

    def __init__(
        self, address: BrokerAddress, client_id: str, *, window: int = DEFAULT_WINDOW
    ) -> None:
        """Raises BrokerError if `window` is not between 1 and 65,535."""
        if not 1 <= window <= MAX_WINDOW:
            raise BrokerError(f"the publish window must be 1 to {MAX_WINDOW}, got {window}")
        self.address = address
        self.client_id = client_id
        self.window = window
        self.acknowledged = 0
        self.refused: Counter[int] = Counter()
        """PUBACK reason codes of messages the broker refused (not sent again)."""
        self._limit = window
        self._sock: Socket | None = None
        self._unacked: dict[int, tuple[bytes, bytes]] = {}
        self._out = bytearray()
        self._in = bytearray()
        self._next_mid = 0
        self._sent_at = time.monotonic()
        self._topics: dict[str, bytes] = {}
        self.version: int | None = None
        """The protocol level spoken (5, or 4 for MQTT 3.1.1), once connected."""

    def open(self, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        """Connect. Raises BrokerError if the broker cannot be reached or refuses us."""
        self._sock = self._connect(timeout_s)

    @property
    def unacknowledged(self) -> int:
        """Messages sent (or to send) that the broker has not acknowledged yet."""
        return len(self._unacked)

    def publish(self, topic: str, payload: bytes) -> None:
        """Queue `payload` for `topic` with QoS 1; waits while the window is full."""
        while len(self._unacked) >= self._limit:
            self._exchange(wait_s=1.0)
        mid = self._next_mid
        while True:
            mid = mid % MAX_WINDOW + 1
            if mid not in self._unacked:
                break
        self._next_mid = mid
        topic_bytes = self._topics.get(topic)
        if topic_bytes is None:
            topic_bytes = self._topics[topic] = topic.encode("utf-8")
        self._unacked[mid] = (topic_bytes, payload)
        self._out += publish_packet(topic_bytes, payload, mid, version=self._version)
        if len(self._out) >= _SEND_BYTES:
            self._exchange(wait_s=0.0)

    def pause(self, seconds: float) -> None:
        """Wait `seconds`, meanwhile sending what is queued and reading acknowledgements."""
        until = time.monotonic() + seconds
        while (left_s := until - time.monotonic()) > 0:
            self._exchange(wait_s=min(left_s, 1.0))

    def drain(self) -> None:
        """Send everything queued and wait until the broker has acknowledged all of it."""
        while self._unacked or self._out:
            self._exchange(wait_s=1.0)

    def close(self) -> None:
        """Disconnect cleanly (what is unacknowledged is dropped: `drain` first)."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.sendall(DISCONNECT_PACKET)
            self._sock.close()
            self._sock = None

    def _exchange(self, wait_s: float) -> None:
        """Send what is queued, then read what the broker sent, waiting up to `wait_s`."""
        try:
            if self._sock is None:
                raise ConnectionError("not connected")
            sock = self._sock
            if self._out:
                sock.sendall(self._out)
                self._out.clear()
                self._sent_at = time.monotonic()
            elif time.monotonic() - self._sent_at > KEEPALIVE_S / 2:
                sock.sendall(PINGREQ_PACKET)
                self._sent_at = time.monotonic()
            pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
            if pending or select.select([sock], [], [], wait_s)[0]:
                data = sock.recv(_READ_BYTES)
                if not data:
                    raise ConnectionError("the broker closed the connection")
                self._in += data
                self._handle(read_packets(self._in))
        except (OSError, MalformedPacketError) as error:
            self._reconnect(error)

    def _handle(self, packets: list[Packet]) -> None:
        for packet in packets:
            kind = packet.first_byte & 0xF0
            if kind == PUBACK:
                mid, reason = read_ack(packet)
                if self._unacked.pop(mid, None) is not None:
                    self.acknowledged += 1
                    if reason >= 0x80:
                        self.refused[reason] += 1
                        log.warning("the broker refused message %d: reason %#04x", mid, reason)
            elif kind == DISCONNECT:
                reason = packet.body[0] if packet.body else 0
                raise ConnectionError(f"the broker disconnected us (reason {reason:#04x})")

    def _reconnect(self, error: BaseException) -> None:
        log.warning("lost the broker at %s (%s); reconnecting", self.address, error)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._in.clear()
        attempt = 0
        while self._sock is None:
            time.sleep(_RECONNECT_DELAYS_S[min(attempt, len(_RECONNECT_DELAYS_S) - 1)])
            attempt += 1
            try:
                self._sock = self._connect(CONNECT_TIMEOUT_S)
            except BrokerError as refused:
                log.warning("%s", refused)
        self._out = bytearray().join(
            publish_packet(topic, payload, mid, dup=True, version=self._version)
            for mid, (topic, payload) in self._unacked.items()
        )
        log.warning(
            "reconnected to %s; sending %d messages again", self.address, len(self._unacked)
        )

    @property
    def _version(self) -> int:
        return self.version or MQTT_5

    def _connect(self, timeout_s: float) -> Socket:
        versions = VERSIONS if self.version is None else (self.version,)
        session = open_session(self.address, self.client_id, versions=versions, timeout_s=timeout_s)
        self.version = session.version
        self._limit = min(self.window, session.connack.receive_maximum or MAX_WINDOW)
        session.sock.settimeout(KEEPALIVE_S)
        self._in = session.received
        return session.sock
