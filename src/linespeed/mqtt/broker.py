"""Broker addresses (`mqtt://[user:password@]host[:port]`, `mqtts://` for TLS), and the
error a broker's refusal (or absence) raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urlsplit

from linespeed.environment import masked_url
from linespeed.errors import LinespeedError

DEFAULT_PORTS: Final = {"mqtt": 1883, "mqtts": 8883}


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
        raise BrokerError(f"broker URL {masked_url(url)!r} has a bad port") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise BrokerError(
            f"broker URL {masked_url(url)!r}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BrokerError(f"broker URL {masked_url(url)!r}: nothing may follow HOST:PORT")
    return BrokerAddress(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[parts.scheme],
        tls=parts.scheme == "mqtts",
        username=None if parts.username is None else unquote(parts.username),
        password=None if parts.password is None else unquote(parts.password),
    )
