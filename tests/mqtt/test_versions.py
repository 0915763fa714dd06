"""MQTT 5 falling back to 3.1.1, what 3.1.1 changes, acknowledgements across connections and
keepalive pings, against brokers of a few lines.

Each fake broker listens on a loopback port and answers as a real one does (NATS's MQTT
listener answers a version 5 CONNECT with the 3.1.1 return code 0x01, for one); no service
is needed.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from linespeed.mqtt.broker import BrokerAddress, BrokerError
from linespeed.mqtt.connection import Connection, Message
from linespeed.mqtt.publisher import QosOnePublisher
from linespeed.mqtt.wire import (
    MQTT_5,
    MQTT_311,
    PINGREQ,
    PUBACK,
    Packet,
    publish_packet,
    read_ack,
    read_packets,
    varint,
)
from tests.mqtt.conftest import free_port, wait_until

ACCEPTED_311 = b"\x20\x02\x00\x00"
ACCEPTED_5 = b"\x20\x03\x00\x00\x00"
REFUSED_VERSION_311 = b"\x20\x02\x00\x01"
REFUSED_VERSION_5 = b"\x20\x03\x00\x84\x00"


class Client:
    """One connection to the fake broker: the CONNECT it sent, and packets to read."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        connect = self.read()
        self.version = connect.body[6]
        self.clean = bool(connect.body[7] & 0x02)

    def read(self) -> Packet:
        """The next packet from the client. Raises ConnectionError if it hangs up."""
        while not (packets := read_packets(self.buffer)):
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("the client hung up")
            self.buffer += data
        first, *rest = packets
        for packet in reversed(rest):  # put back what came with it
            self.buffer[:0] = bytes([packet.first_byte]) + varint(len(packet.body)) + packet.body
        return first


Serve = Callable[[Client], None]


@contextmanager
def fake_broker(serve: Serve) -> Iterator[tuple[BrokerAddress, list[Client]]]:
    """A broker handing each connection, once it has sent CONNECT, to `serve`."""
    listener = socket.create_server(("127.0.0.1", 0))
    clients: list[Client] = []

    def accept() -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            client = Client(sock)
            clients.append(client)
            threading.Thread(target=_serve_quietly, args=(serve, client), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield BrokerAddress("127.0.0.1", listener.getsockname()[1]), clients
    finally:
        listener.close()
        for client in clients:
            client.sock.close()


def _serve_quietly(serve: Serve, client: Client) -> None:
    with contextlib.suppress(OSError):  # the client or the test closed the connection
        serve(client)


def only_311(then: Serve | None = None) -> Serve:
    """A 3.1.1 broker (as NATS's MQTT listener): version 5 refused with 0x01."""

    def serve(client: Client) -> None:
        if client.version != MQTT_311:
            client.sock.sendall(REFUSED_VERSION_311)
            client.sock.close()
            return
        client.sock.sendall(ACCEPTED_311)
        if then is not None:
            then(client)

    return serve


@pytest.mark.parametrize(
    ("refusal", "why"),
    [
        (REFUSED_VERSION_311, "unacceptable protocol version (0x01)"),
        (REFUSED_VERSION_5, "unsupported protocol version (0x84)"),
        (b"", "it closed the connection on a MQTT 5 CONNECT"),
    ],
)
def test_a_broker_refusing_version_5_is_spoken_to_in_3_1_1(
    refusal: bytes, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    def serve(client: Client) -> None:
        if client.version == MQTT_5:
            client.sock.sendall(refusal)
            client.sock.close()
        else:
            client.sock.sendall(ACCEPTED_311)

    with fake_broker(serve) as (address, clients):
        connection = Connection(address, "bridge", manual_ack=True, persistent=True)
        connection.open()
        connection.close()
        publisher = QosOnePublisher(address, "line")
        publisher.open()
        publisher.close()
    assert (connection.version, connection.version_name, publisher.version) == (
        MQTT_311,
        "MQTT 3.1.1",
        MQTT_311,
    )
    # 3.1.1 has no session expiry: the persistent session is clean session off
    assert [(client.version, client.clean) for client in clients] == [
        (MQTT_5, False),
        (MQTT_311, False),
        (MQTT_5, True),
        (MQTT_311, True),
    ]
    assert [record.getMessage() for record in caplog.records] == [
        f"the broker at {address} refused MQTT 5 for {name!r} ({why}); connecting with MQTT 3.1.1"
        for name in ("bridge", "line")
    ]


def test_a_broker_refusing_both_versions_is_named_with_its_reason() -> None:
    def serve(client: Client) -> None:
        client.sock.sendall(REFUSED_VERSION_311)
        client.sock.close()

    with fake_broker(serve) as (address, _clients), pytest.raises(BrokerError) as refused:
        Connection(address, "bridge").open()
    assert str(refused.value) == (
        f"the broker at {address} refused 'bridge': unacceptable protocol version (0x01)"
    )
    assert refused.value.code == "mqtt.broker"


def test_a_refusal_other_than_the_version_is_not_retried_in_3_1_1() -> None:
    def serve(client: Client) -> None:
        client.sock.sendall(b"\x20\x03\x00\x86\x00")  # bad user name or password
        client.sock.close()

    bad_login = r"bad user name or password \(0x86\)$"
    with fake_broker(serve) as (address, clients), pytest.raises(BrokerError, match=bad_login):
        Connection(address, "bridge").open()
    assert [client.version for client in clients] == [MQTT_5]


def test_an_unreachable_broker_is_named() -> None:
    address = BrokerAddress("127.0.0.1", free_port())
    for client in (Connection(address, "bridge"), QosOnePublisher(address, "line")):
        with pytest.raises(BrokerError) as unreachable:
            client.open()
        assert str(unreachable.value) == (
            f"cannot reach the broker at {address}: Connection refused"
        )


def test_in_3_1_1_the_bridge_bounds_its_unacknowledged_messages_itself() -> None:
    acknowledged: list[int] = []

    def thirty_messages(client: Client) -> None:
        client.sock.sendall(
            b"".join(
                publish_packet(b"t", b"m%d" % mid, mid, version=MQTT_311) for mid in range(1, 31)
            )
        )
        while True:
            packet = client.read()
            if packet.first_byte == PUBACK:
                acknowledged.append(read_ack(packet)[0])

    received: list[Message] = []
    with fake_broker(only_311(thirty_messages)) as (address, _clients):
        connection = Connection(
            address, "bridge", manual_ack=True, persistent=True, receive_maximum=5
        )
        connection.on_message = received.append
        connection.open()
        try:
            wait_until(lambda: len(received) == 5, 5, "five messages")
            threading.Event().wait(0.3)
            assert len(received) == 5  # no more while five are unacknowledged
            connection.acknowledge(connection.generation, [1, 2])
            wait_until(lambda: len(received) == 7, 5, "two more messages")
            wait_until(lambda: acknowledged == [1, 2], 5, "the acknowledgements")
            threading.Event().wait(0.3)
        finally:
            connection.close()
    assert [(m.mid, m.topic, m.payload) for m in received] == [
        (mid, "t", b"m%d" % mid) for mid in range(1, 8)
    ]


@pytest.mark.slow  # a reconnection waits a second
def test_no_acknowledgement_of_an_old_connection_goes_out_on_a_new_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    acknowledged: list[tuple[int, int]] = []
    connections = 0

    def one_message_then_drop(client: Client) -> None:
        nonlocal connections
        connections += 1
        number = connections
        client.sock.sendall(ACCEPTED_5 + publish_packet(b"t", b"m", 1, dup=number > 1))
        if number == 1:
            client.sock.close()  # the network drops the first connection
            return
        while True:
            packet = client.read()
            if packet.first_byte == PUBACK:
                acknowledged.append((number, read_ack(packet)[0]))

    received: list[Message] = []
    with fake_broker(one_message_then_drop) as (address, _clients):
        connection = Connection(address, "bridge", manual_ack=True, persistent=True)
        connection.on_message = received.append
        connection.open()
        try:
            wait_until(lambda: len(received) == 2, 10, "the message delivered again")
            first, again = received
            connection.acknowledge(first.generation, [first.mid])  # dropped
            connection.acknowledge(again.generation, [again.mid])
            wait_until(lambda: bool(acknowledged), 5, "the acknowledgement")
            threading.Event().wait(0.3)
        finally:
            connection.close()
    assert [(m.generation, m.mid, m.dup) for m in received] == [(1, 1, False), (2, 1, True)]
    assert acknowledged == [(2, 1)]


@pytest.mark.slow  # a reconnection waits a second
def test_a_quiet_connection_pings_and_a_silent_broker_is_left(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("linespeed.mqtt.connection.KEEPALIVE_S", 0.4)
    pings: list[int] = []
    connections = 0

    def answer_pings_once(client: Client) -> None:
        nonlocal connections
        connections += 1
        number = connections
        client.sock.sendall(ACCEPTED_5)
        while True:
            if client.read().first_byte == PINGREQ:
                pings.append(number)
                if number == 1 and pings.count(1) <= 3:
                    client.sock.sendall(b"\xd0\x00")  # PINGRESP; then silence

    with fake_broker(answer_pings_once) as (address, _clients):
        connection = Connection(address, "quiet")
        connection.open()
        try:
            wait_until(lambda: connection.generation == 2, 10, "a new connection")
        finally:
            connection.close()
    assert pings[:3] == [1, 1, 1]
    assert "no answer from the broker for 0.6 s" in caplog.text
