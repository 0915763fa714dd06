"""Opening a session with a broker: the socket (TLS for `mqtts://`), CONNECT, CONNACK, and
the fall-back from MQTT 5 to 3.1.1.

A client tries MQTT 5 first. A broker that speaks only 3.1.1 refuses it: Mosquitto in 3.1.1
mode and NATS's MQTT listener answer with the 3.1.1 return code 0x01 (unacceptable protocol
version), an MQTT 5 broker configured without it with reason 0x84 (unsupported protocol
version), and some brokers just close the connection. Each of these makes the client connect
again with 3.1.1, and the fall-back is logged.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from typing import Final, NamedTuple

from linespeed.mqtt.broker import BrokerAddress, BrokerError
from linespeed.mqtt.control import Connack, connect_packet, read_connack
from linespeed.mqtt.wire import (
    CONNACK,
    MQTT_5,
    MQTT_311,
    VERSION_NAMES,
    MalformedPacketError,
    read_packets,
    varint,
)

SESSION_NEVER_EXPIRES: Final = 0xFFFFFFFF
CONNECT_TIMEOUT_S: Final = 10.0
KEEPALIVE_S: Final = 30
VERSIONS: Final = (MQTT_5, MQTT_311)
"""The versions a client tries, in order."""

log = logging.getLogger(__name__)

Socket = socket.socket | ssl.SSLSocket


class Session(NamedTuple):
    """A connection the broker accepted: its socket, version, CONNACK and what came after."""

    sock: Socket
    version: int
    connack: Connack
    received: bytearray
    """Bytes the broker sent after its CONNACK (the start of a queued message, say)."""


class _VersionRefusedError(BrokerError):
    """The broker would not speak this version with us."""


def open_session(
    address: BrokerAddress,
    client_id: str,
    *,
    versions: tuple[int, ...] = VERSIONS,
    persistent: bool = False,
    receive_maximum: int | None = None,
    timeout_s: float = CONNECT_TIMEOUT_S,
) -> Session:
    """Connect with the first of `versions` the broker accepts.

    `persistent`: a session the broker keeps across connections (MQTT 5: clean start off and
    no expiry; 3.1.1: clean session off). Raises BrokerError if the broker cannot be reached,
    does not answer within `timeout_s`, or refuses us (naming why).
    """
    for index, version in enumerate(versions):
        try:
            return _open(address, client_id, version, persistent, receive_maximum, timeout_s)
        except _VersionRefusedError as refused:
            if index + 1 == len(versions):
                raise BrokerError(
                    f"the broker at {address} refused {client_id!r}: {refused}"
                ) from None
            log.warning(
                "the broker at %s refused %s for %r (%s); connecting with %s",
                address,
                VERSION_NAMES[version],
                client_id,
                refused,
                VERSION_NAMES[versions[index + 1]],
            )
    raise BrokerError(f"no MQTT version to connect to {address} with")


def _open(
    address: BrokerAddress,
    client_id: str,
    version: int,
    persistent: bool,
    receive_maximum: int | None,
    timeout_s: float,
) -> Session:
    packet = connect_packet(
        client_id,
        version=version,
        clean_start=not persistent,
        keepalive_s=KEEPALIVE_S,
        session_expiry_s=SESSION_NEVER_EXPIRES if persistent else 0,
        receive_maximum=receive_maximum,
        username=address.username,
        password=address.password,
    )
    context = address.ssl_context() if address.tls else None
    try:
        sock: Socket = socket.create_connection((address.host, address.port), timeout_s)
    except OSError as error:
        raise BrokerError(f"cannot reach the broker at {address}: {_why(error)}") from None
    try:
        if context is not None:
            sock = context.wrap_socket(sock, server_hostname=address.host)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(packet)
        received = bytearray()
        deadline = time.monotonic() + timeout_s
        while not (packets := read_packets(received)):
            left_s = deadline - time.monotonic()
            if left_s <= 0:
                raise TimeoutError(f"no answer within {timeout_s:g} s")
            sock.settimeout(left_s)
            data = sock.recv(4096)
            if not data:
                raise ConnectionResetError("the broker closed the connection")
            received += data
        first_byte, body = packets[0]
        if first_byte & 0xF0 != CONNACK:
            raise MalformedPacketError(f"expected CONNACK, got packet type {first_byte >> 4}")
        connack = read_connack(body)
    except ssl.SSLError as error:
        sock.close()
        raise BrokerError(f"TLS with the broker at {address} failed: {error}") from None
    except (ConnectionResetError, BrokenPipeError) as error:
        sock.close()
        if version != MQTT_311:  # a broker that hangs up on a version it does not speak
            raise _VersionRefusedError(
                f"it closed the connection on a {VERSION_NAMES[version]} CONNECT"
            ) from None
        hint = "" if address.tls else " (a port that wants TLS does so: use mqtts://)"
        raise BrokerError(f"cannot reach the broker at {address}: {_why(error)}{hint}") from None
    except (OSError, MalformedPacketError) as error:
        sock.close()
        raise BrokerError(f"cannot reach the broker at {address}: {_why(error)}") from None
    if connack.refuses_version():
        sock.close()
        raise _VersionRefusedError(connack.refusal() or "")
    refusal = connack.refusal()
    if refusal is not None:
        sock.close()
        raise BrokerError(f"the broker at {address} refused {client_id!r}: {refusal}")
    sock.settimeout(KEEPALIVE_S)  # a broker that stops reading fails a send, not blocks it
    after = bytearray().join(  # rarely: packets that came in the CONNACK's read
        bytes([rest.first_byte]) + varint(len(rest.body)) + rest.body for rest in packets[1:]
    )
    return Session(sock, version, connack, after + received)


def _why(error: BaseException) -> str:
    """An OS error in words (`Connection refused`), else the error's own text."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
