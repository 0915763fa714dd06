"""Broker addresses (`mqtt://[user:password@]host[:port]`, `mqtts://` for TLS) and connections.

Clients speak MQTT 5 and reconnect by themselves after the broker or the network drops
them; `Connection.generation` counts the connections, so an acknowledgement meant for a
message of an earlier connection is never sent on a later one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from linespeed.errors import LinespeedError
from linespeed.mqtt.reader import BufferedClient

DEFAULT_PORTS: Final = {"mqtt": 1883, "mqtts": 8883}
SESSION_NEVER_EXPIRES: Final = 0xFFFFFFFF
CONNECT_TIMEOUT_S: Final = 10.0
KEEPALIVE_S: Final = 30

log = logging.getLogger(__name__)


class BrokerError(LinespeedError):
    """A broker URL is malformed, or the broker cannot be reached or refuses us."""

    code = "mqtt.broker"


@dataclass(frozen=True)
class BrokerAddress:
    """Where a broker listens, and how to log in."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        """The URL, with the password hidden."""
        user = "" if self.username is None else f"{self.username}{':***' if self.password else ''}@"
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    """The broker an `mqtt://` or `mqtts://` URL names (ports 1883 and 8883 by default).

    Raises BrokerError naming the URL (password hidden) if it is not such a URL.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BrokerError(f"broker URL {_masked(url)!r} has a bad port") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise BrokerError(
            f"broker URL {_masked(url)!r}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BrokerError(f"broker URL {_masked(url)!r}: nothing may follow HOST:PORT")
    return BrokerAddress(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[parts.scheme],
        tls=parts.scheme == "mqtts",
        username=None if parts.username is None else unquote(parts.username),
        password=None if parts.password is None else unquote(parts.password),
    )


def _masked(url: str) -> str:
    head, at, tail = url.rpartition("@")
    if not at or ":" not in head.partition("://")[2]:
        return url
    return head[: head.rindex(":")] + ":***@" + tail


class Connection:
    """A paho MQTT 5 client connected to a broker, reconnecting on its own in a thread.

    `on_connect` callbacks run on every (re)connection, in the network thread, with
    whether the broker kept the session; subscribe there so a new session subscribes too.
    """

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        *,
        manual_ack: bool = False,
        persistent: bool = False,
        receive_maximum: int | None = None,
    ) -> None:
        self.address = address
        self.client_id = client_id
        self.persistent = persistent
        self.receive_maximum = receive_maximum
        self.generation = 0
        """How many times the client has connected; messages carry the one they came on."""
        self.connected = threading.Event()
        self.on_connect: list[Callable[[bool], object]] = []
        self._refused: str | None = None
        self.client = BufferedClient(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=manual_ack,
        )
        self.client.max_inflight_messages_set(0)  # flow is limited by whoever publishes
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        if address.username is not None:
            self.client.username_pw_set(address.username, address.password)
        if address.tls:
            self.client.tls_set()
        self.client.on_connect = self._connected
        self.client.on_disconnect = self._disconnected

    def open(self, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        """Connect, start the network thread, and wait for the broker to accept us.

        Raises BrokerError if the broker cannot be reached or refuses the connection.
        """
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if self.persistent:
            properties.SessionExpiryInterval = SESSION_NEVER_EXPIRES
        if self.receive_maximum is not None:
            properties.ReceiveMaximum = self.receive_maximum
        try:
            self.client.connect(
                self.address.host,
                self.address.port,
                keepalive=KEEPALIVE_S,
                clean_start=not self.persistent,
                properties=properties,
            )
        except OSError as error:
            raise BrokerError(f"cannot reach the broker at {self.address}: {error}") from None
        self.client.loop_start()
        if not self.connected.wait(timeout_s) or self._refused is not None:
            self.close()
            why = self._refused or f"no answer within {timeout_s:g} s"
            raise BrokerError(f"the broker at {self.address} refused {self.client_id!r}: {why}")

    def close(self) -> None:
        """Disconnect cleanly and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def _connected(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._refused = str(reason)
            log.error("broker %s refused %r: %s", self.address, self.client_id, reason)
            self.connected.set()
            return
        self.generation += 1
        if self.generation > 1:
            log.warning(
                "reconnected to %s (session %s)",
                self.address,
                "kept" if flags.session_present else "NOT kept: the broker lost queued messages",
            )
        for callback in self.on_connect:
            callback(flags.session_present)
        self.connected.set()

    def _disconnected(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self.connected.clear()
        if reason.is_failure:
            log.warning("lost the broker at %s (%s); reconnecting", self.address, reason)
