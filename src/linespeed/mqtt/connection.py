"""A subscribing and publishing MQTT connection on a socket loop of our own, in one thread.

The thread does all the socket's reading and writing (a TLS socket is not to be shared
between threads); others hand it packets through a buffer and wake it through a socket pair.
It reads whatever the socket holds at once and cuts it into packets (`linespeed.mqtt.wire`),
so a stream of small messages costs a few microseconds each.

It connects with MQTT 5 and falls back to 3.1.1 when the broker refuses version 5
(`linespeed.mqtt.handshake`); it reconnects by itself with the same version, subscribes
again when the broker did not keep the session, sends again what it published and the broker
had not acknowledged, and pings the broker when the line is quiet. A socket that takes no
bytes for `KEEPALIVE_S` (a broker that stopped reading) is dropped and made again.
Reconnections back off from 1 s to about 60 s (with jitter), and start again from 1 s only
after 30 s of healthy connection, so two clients with the same id (each taking the other's
session) do not kick each other off every second; that case is logged as an error naming
the client id.

At most the broker's Receive Maximum publications are in flight at once (MQTT 5 flow
control); the rest wait their turn in order. At most `MAX_PUBLICATIONS` wait or fly at once
(packet ids are 16 bits): `publish` then waits for room (and raises if there is none),
`try_publish` gives up at once, as it does while the broker is away.

`generation` counts the connections: each message carries the one it came on, and
`acknowledge` drops the acknowledgements of an earlier connection (the broker delivers those
messages again), so no acknowledgement of an old connection goes out on a new one.

With `manual_ack`, at most `receive_maximum` messages are unacknowledged at once: MQTT 5
tells the broker so (Receive Maximum); in 3.1.1, which has none, the loop stops reading the
socket while that many are unacknowledged, and the broker's messages wait in TCP buffers.
QoS 0 messages count against the same bound (the broker's Receive Maximum does not cover
them): acknowledging their packet id 0 releases them and sends nothing.
"""

from __future__ import annotations

import contextlib
import logging
import random
import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Final, NamedTuple

from linespeed.mqtt.broker import BrokerAddress, BrokerError
from linespeed.mqtt.control import read_suback, subscribe_packet
from linespeed.mqtt.handshake import (
    CONNECT_TIMEOUT_S,
    KEEPALIVE_S,
    VERSIONS,
    Session,
    Socket,
    open_session,
)
from linespeed.mqtt.wire import (
    DISCONNECT,
    DISCONNECT_PACKET,
    MQTT_5,
    PINGREQ_PACKET,
    PUBACK,
    PUBLISH,
    SUBACK,
    VERSION_NAMES,
    MalformedPacketError,
    Packet,
    pubacks,
    publish_packet,
    read_ack,
    read_packets,
    read_publish,
)

_READ_BYTES: Final = 256 << 10
_FIRST_RECONNECT_S: Final = 1.0
_LONGEST_RECONNECT_S: Final = 60.0
_HEALTHY_S: Final = 30.0
"""How long a connection must last before the reconnection back-off starts again from 1 s."""
_QUICK_DROPS_LOGGED: Final = 3
"""Drops in a row, each within `_HEALTHY_S` of connecting, logged as an error."""
_SESSION_TAKEN_OVER: Final = 0x8E
_FAREWELL_S: Final = 1.0
_MAX_MID: Final = 65_535
MAX_PUBLICATIONS: Final = 64_000
"""Publications kept until acknowledged, at most (the other packet ids go to subscriptions)."""

log = logging.getLogger(__name__)


class Message(NamedTuple):
    """A message received: the connection it came on, its packet id and what it holds."""

    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes
    retain: bool
    dup: bool
    """Sent before (MQTT's DUP flag): a delivery again of a message not acknowledged."""


class _Publication(NamedTuple):
    topic: bytes
    payload: bytes
    retain: bool


class Connection:
    """A client connection to a broker; see the module's description.

    `on_message` is called in the network thread with each message; without `manual_ack`,
    QoS 1 messages are acknowledged as they arrive.
    """

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        *,
        manual_ack: bool = False,
        persistent: bool = False,
        receive_maximum: int | None = None,
        versions: tuple[int, ...] = VERSIONS,
    ) -> None:
        """Raises BrokerError if `receive_maximum` is not between 1 and 65,535."""
        if receive_maximum is not None and not 1 <= receive_maximum <= _MAX_MID:
            raise BrokerError(f"the receive maximum must be 1 to {_MAX_MID}, got {receive_maximum}")
        self.address = address
        self.client_id = client_id
        self.manual_ack = manual_ack
        self.persistent = persistent
        self.receive_maximum = receive_maximum
        self.versions = versions
        self.version: int | None = None
        """The protocol level spoken (5 or 4 for 3.1.1), once connected."""
        self.generation = 0
        """How many times the client has connected; messages carry the one they came on."""
        self.on_message: Callable[[Message], object] | None = None
        self.refused_publications = 0
        """Messages published that the broker refused (MQTT 5 reason >= 0x80)."""
        self._lock = threading.Condition()
        self._out = bytearray()
        self._in = bytearray()
        self._fresh = False
        self._held: deque[Packet] = deque()
        self._unacknowledged = 0
        self._outgoing: dict[int, _Publication] = {}
        """Publications not yet acknowledged, by packet id, in the order published."""
        self._in_flight: set[int] = set()
        """Those sent on this connection."""
        self._waiting: deque[int] = deque()
        """Those not yet sent on this connection: their turn comes when the window allows."""
        self._ever_sent: set[int] = set()
        """Those sent on some connection (sent again with DUP)."""
        self._subscriptions: list[str] = []
        self._granted: dict[int, list[int] | None] = {}
        self._next_mid = 0
        self._broker_receive_maximum: int | None = None
        self._connected_at = time.monotonic()
        self._sock: Socket | None = None
        self._sent_at = self._heard_at = time.monotonic()
        self._wake_reader: socket.socket | None = None
        self._wake_writer: socket.socket | None = None
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def version_name(self) -> str:
        """`MQTT 5` or `MQTT 3.1.1` (`MQTT` before the first connection)."""
        return VERSION_NAMES.get(self.version or 0, "MQTT")

    def open(self, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        """Connect (MQTT 5, else 3.1.1) and start the network thread.

        Raises BrokerError if the broker cannot be reached or refuses the connection.
        """
        session = open_session(
            self.address,
            self.client_id,
            versions=self.versions,
            persistent=self.persistent,
            receive_maximum=self.receive_maximum if self.manual_ack else None,
            timeout_s=timeout_s,
        )
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_writer.setblocking(False)
        self._begin(session)
        self._thread = threading.Thread(target=self._loop, name=f"mqtt-{self.client_id}")
        self._thread.daemon = True
        self._thread.start()

    def subscribe(self, topic_filter: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        """Subscribe with QoS 1 (again on every new session) and wait for the broker's grant.

        Raises BrokerError if the broker refuses it, grants only QoS 0, or does not answer.
        """
        with self._lock:
            self._subscriptions.append(topic_filter)
            mid = self._take_mid()
            self._granted[mid] = None
            self._send(subscribe_packet(topic_filter, mid, version=self.version or MQTT_5))
            self._lock.wait_for(lambda: self._granted[mid] is not None, timeout_s)
            granted = self._granted.pop(mid)
        if granted is None:
            raise BrokerError(f"the broker refused the subscription {topic_filter}: no answer")
        if not granted or granted[0] != 1:
            why = f"code {granted[0]:#04x}" if granted else "no code"
            raise BrokerError(f"the broker refused the subscription {topic_filter}: {why}")

    def publish(
        self, topic: str, payload: bytes, *, retain: bool = False, wait_s: float = CONNECT_TIMEOUT_S
    ) -> None:
        """Publish with QoS 1; kept, and sent again after a reconnection, until acknowledged.

        When `MAX_PUBLICATIONS` are unacknowledged, it waits up to `wait_s` for room.
        Raises BrokerError if there is none (at once when the broker is away).
        """
        with self._lock:
            if not self._has_room() and (
                self._sock is None or not self._lock.wait_for(self._has_room, wait_s)
            ):
                raise BrokerError(
                    f"cannot publish to {topic}: {len(self._outgoing)} messages published "
                    f"to {self.address} are unacknowledged"
                )
            self._queue_publication(topic, payload, retain)

    def try_publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """Publish with QoS 1 as `publish` does, unless the broker is away or
        `MAX_PUBLICATIONS` are unacknowledged: then publish nothing and return False."""
        with self._lock:
            if self._sock is None or not self._has_room():
                return False
            self._queue_publication(topic, payload, retain)
            return True

    def drain(self, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        """Wait until the broker has acknowledged everything published.

        Raises BrokerError if some is still unacknowledged after `timeout_s`.
        """
        with self._lock:
            if not self._lock.wait_for(lambda: not self._outgoing, timeout_s):
                raise BrokerError(
                    f"the broker at {self.address} acknowledged not all published messages "
                    f"within {timeout_s:g} s ({len(self._outgoing)} left)"
                )

    def acknowledge(self, generation: int, mids: list[int]) -> None:
        """Acknowledge these messages of connection `generation` in one write.

        Packet id 0 (a QoS 0 message) only frees its place under the bound; nothing is sent
        for it. Acknowledgements of an earlier connection are dropped: the broker sends those
        messages again.
        """
        with self._lock:
            if generation != self.generation or not mids:
                return
            self._unacknowledged -= len(mids)
            qos_one = [mid for mid in mids if mid]
            if qos_one:
                self._send(pubacks(qos_one))
            else:
                self._wake()  # the loop may be holding messages back until there is room

    def close(self) -> None:
        """Send what is queued, disconnect cleanly and stop the network thread (a persistent
        session stays)."""
        self._closing.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(CONNECT_TIMEOUT_S)
            self._thread = None
        with self._lock:  # what is queued (the last acknowledgements) goes out first
            self._drop_socket(bytes(self._out) + DISCONNECT_PACKET)
            self._out.clear()
        for wake in (self._wake_reader, self._wake_writer):
            if wake is not None:
                wake.close()

    # --- the network thread ---

    def _loop(self) -> None:
        attempt = quick_drops = 0
        while not self._closing.is_set():
            if self._sock is None:
                if self._closing.wait(reconnect_delay_s(attempt)):
                    return
                attempt += 1
                self._reconnect()
                continue
            if attempt and time.monotonic() - self._connected_at >= _HEALTHY_S:
                attempt = quick_drops = 0
            try:
                self._step()
            except (OSError, MalformedPacketError, ConnectionError) as error:
                log.warning("lost the broker at %s (%s); reconnecting", self.address, error)
                with self._lock:
                    self._drop_socket(b"")
                if time.monotonic() - self._connected_at < _HEALTHY_S:
                    quick_drops += 1
                    if quick_drops >= _QUICK_DROPS_LOGGED:
                        log.error(
                            "the broker at %s dropped client id %r %d times in a row within "
                            "%g s of connecting: is another client using the same id?",
                            self.address,
                            self.client_id,
                            quick_drops,
                            _HEALTHY_S,
                        )

    def _step(self) -> None:
        """Write what is queued, then read what the broker sent (unless the bound is hit)."""
        sock = self._sock
        if sock is None:
            return
        if self._fresh:  # what came with the CONNACK (its acknowledgements go out now)
            self._fresh = False
            self._handle(read_packets(self._in))
        with self._lock:
            out = bytes(self._out)
            self._out.clear()
        now = time.monotonic()
        if not out and now - self._sent_at > KEEPALIVE_S / 2:
            out = PINGREQ_PACKET
        if out:
            sock.sendall(out)
            self._sent_at = now
        if self._held and not self._full():
            self._handle(self._take_held())
        reading = not self._held
        if reading and now - self._heard_at > KEEPALIVE_S * 1.5:
            raise ConnectionError(f"no answer from the broker for {KEEPALIVE_S * 1.5:g} s")
        wake = self._wake_reader
        wanted: list[Socket | socket.socket] = [] if wake is None else [wake]
        if reading:
            wanted.append(sock)
        pending = reading and isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        ready = [sock] if pending else select.select(wanted, [], [], KEEPALIVE_S / 4)[0]
        if wake is not None and wake in ready:
            with contextlib.suppress(BlockingIOError):
                wake.recv(4096)
        if sock in ready:
            data = sock.recv(_READ_BYTES)
            if not data:
                raise ConnectionError("the broker closed the connection")
            self._heard_at = time.monotonic()
            self._in += data
            self._handle(read_packets(self._in))
        elif not reading:
            self._heard_at = time.monotonic()  # not reading: silence is ours, not the broker's

    def _handle(self, packets: list[Packet]) -> None:
        version = self.version or MQTT_5
        for index, packet in enumerate(packets):
            kind = packet.first_byte & 0xF0
            if kind == PUBLISH:
                if self._full():
                    self._held.extend(packets[index:])
                    return
                self._received(packet, version)
            elif kind == PUBACK:
                mid, reason = read_ack(packet)
                with self._lock:
                    if self._outgoing.pop(mid, None) is not None:
                        self._in_flight.discard(mid)
                        self._ever_sent.discard(mid)
                        if reason >= 0x80:
                            self.refused_publications += 1
                            log.warning("the broker refused message %d: reason %#04x", mid, reason)
                        self._send_waiting()
                        self._lock.notify_all()
            elif kind == SUBACK:
                mid, codes = read_suback(packet.body, version=version)
                with self._lock:
                    if mid in self._granted:
                        self._granted[mid] = codes
                        self._lock.notify_all()
                    elif any(code != 1 for code in codes):
                        log.error("the broker refused a subscription again: codes %s", codes)
            elif kind == DISCONNECT:
                reason = packet.body[0] if packet.body else 0
                if reason == _SESSION_TAKEN_OVER:
                    log.error(
                        "the broker at %s took the session of client id %r over: another "
                        "client connected with the same id",
                        self.address,
                        self.client_id,
                    )
                raise ConnectionError(f"the broker disconnected us (reason {reason:#04x})")

    def _received(self, packet: Packet, version: int) -> None:
        qos = (packet.first_byte >> 1) & 0x03
        if qos == 2:
            raise MalformedPacketError("QoS 2 message on a QoS 1 subscription")
        topic, mid, payload = read_publish(packet, version)  # QoS 3, packet id 0: malformed
        retain, dup = bool(packet.first_byte & 0x01), bool(packet.first_byte & 0x08)
        with self._lock:
            if self.manual_ack:
                self._unacknowledged += 1  # QoS 0 too: released by acknowledging id 0
            elif qos == 1:
                self._out += pubacks([mid])
        callback = self.on_message
        if callback is not None:
            callback(Message(self.generation, mid, qos, topic, payload, retain, dup))

    def _full(self) -> bool:
        limit = self.receive_maximum
        return self.manual_ack and limit is not None and self._unacknowledged >= limit

    def _take_held(self) -> list[Packet]:
        held = list(self._held)
        self._held.clear()
        return held

    def _reconnect(self) -> None:
        versions = (self.version,) if self.version is not None else self.versions
        try:
            session = open_session(
                self.address,
                self.client_id,
                versions=versions,
                persistent=self.persistent,
                receive_maximum=self.receive_maximum if self.manual_ack else None,
            )
        except BrokerError as error:
            log.warning("%s", error)
            return
        self._begin(session)
        log.warning(
            "reconnected to %s with %s (session %s)",
            self.address,
            self.version_name,
            "kept"
            if session.connack.session_present or not self.persistent
            else "NOT kept: the broker lost queued messages",
        )

    def _begin(self, session: Session) -> None:
        """Take a new connection: a new generation; old acknowledgements and reads dropped."""
        with self._lock:
            self.generation += 1
            self.version = session.version
            self._broker_receive_maximum = session.connack.receive_maximum
            session.sock.settimeout(KEEPALIVE_S)  # a broker that stops reading: dropped
            self._sock = session.sock
            self._connected_at = time.monotonic()
            self._in = session.received
            self._fresh = bool(session.received)
            self._held.clear()
            self._unacknowledged = 0
            self._out.clear()  # acknowledgements of the last connection must not go out
            self._sent_at = self._heard_at = time.monotonic()
            if not session.connack.session_present:
                for topic_filter in self._subscriptions:
                    self._out += subscribe_packet(
                        topic_filter, self._take_mid(), version=session.version
                    )
            self._in_flight.clear()
            self._waiting = deque(self._outgoing)  # all again, in order, as the window allows
            self._send_waiting()

    def _drop_socket(self, farewell: bytes) -> None:
        """Close the socket (sending `farewell` first, if any); the loop reconnects."""
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                if farewell:
                    sock.settimeout(_FAREWELL_S)  # a broker that stopped reading: no farewell
                    sock.sendall(farewell)
            with contextlib.suppress(OSError):
                sock.close()

    # --- helpers, called holding the lock ---

    def _has_room(self) -> bool:
        return len(self._outgoing) < MAX_PUBLICATIONS

    def _queue_publication(self, topic: str, payload: bytes, retain: bool) -> None:
        mid = self._take_mid()
        self._outgoing[mid] = _Publication(topic.encode("utf-8"), payload, retain)
        self._waiting.append(mid)
        self._send_waiting()

    def _send_waiting(self) -> None:
        """Send waiting publications while fewer than the broker's Receive Maximum fly."""
        window = self._broker_receive_maximum or _MAX_MID
        while self._waiting and len(self._in_flight) < window:
            mid = self._waiting.popleft()
            publication = self._outgoing.get(mid)
            if publication is None:
                continue
            self._in_flight.add(mid)
            self._send(self._publish_packet(mid, publication, dup=mid in self._ever_sent))
            if self._sock is not None:  # else dropped unsent: the next connection sends it
                self._ever_sent.add(mid)

    def _take_mid(self) -> int:
        """The next free packet id. Raises BrokerError if all 65,535 are taken."""
        mid = self._next_mid
        for _ in range(_MAX_MID):
            mid = mid % _MAX_MID + 1
            if mid not in self._outgoing and mid not in self._granted:
                self._next_mid = mid
                return mid
        raise BrokerError(f"all {_MAX_MID} packet ids to {self.address} are in use")

    def _publish_packet(self, mid: int, publication: _Publication, *, dup: bool) -> bytes:
        topic, payload, retain = publication
        return publish_packet(
            topic, payload, mid, dup=dup, retain=retain, version=self.version or MQTT_5
        )

    def _send(self, packet: bytes) -> None:
        self._out += packet
        self._wake()

    def _wake(self) -> None:
        if self._wake_writer is not None:
            with contextlib.suppress(OSError):
                self._wake_writer.send(b"\x00")


def reconnect_delay_s(attempt: int) -> float:
    """The wait before reconnection attempt `attempt` (0 first): 1 s doubling to about 60 s,
    with up to a quarter more at random, so that clients dropped together spread out."""
    delay_s = min(_LONGEST_RECONNECT_S, _FIRST_RECONNECT_S * 2.0 ** min(attempt, 6))
    return delay_s * random.uniform(1.0, 1.25)  # jitter, not a secret
