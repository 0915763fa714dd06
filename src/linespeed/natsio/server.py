"""NATS server URLs and connections: a bounded first attempt, then reconnects on their own."""

from __future__ import annotations

import asyncio
from typing import Final
from urllib.parse import unquote, urlsplit

import nats
from nats.aio.client import Client

from linespeed.environment import masked_url
from linespeed.errors import LinespeedError

CONNECT_TIMEOUT_S: Final = 5.0
DEFAULT_PORT: Final = 4222


class NatsError(LinespeedError):
    """A NATS URL is malformed, a server cannot be reached, or JetStream refuses a request."""

    code = "nats.server"


class NatsBusyError(NatsError):
    """JetStream did not answer in time (a leader election, a server restarting): try again."""

    code = "nats.busy"


def parse_server_url(url: str) -> str:
    """`url` checked, as `nats://HOST:PORT` (`tls://` too) without its user and password,
    which `connect` passes on. Raises NatsError if it is not such a URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise NatsError(f"bad NATS server URL {masked_url(url)!r}: {error}") from None
    if parts.scheme not in ("nats", "tls") or not parts.hostname:
        raise NatsError(f"bad NATS server URL {masked_url(url)!r}: expected nats://HOST:PORT")
    return f"{parts.scheme}://{parts.hostname}:{port or DEFAULT_PORT}"


async def connect(url: str, *, timeout_s: float = CONNECT_TIMEOUT_S, name: str = "") -> Client:
    """A connection to the server at `url`, reconnecting by itself once it has connected.

    The first attempt is bounded: raises NatsError if the server does not answer within
    `timeout_s` (or `url` is not a NATS URL).
    """
    server = parse_server_url(url)
    parts = urlsplit(server)
    try:
        # A plain TCP probe first: the client would retry an unreachable server for ever.
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname, parts.port), timeout_s
        )
        writer.close()
        given = urlsplit(url)
        return await asyncio.wait_for(
            nats.connect(
                server,
                user=None if given.username is None else unquote(given.username),
                password=None if given.password is None else unquote(given.password),
                name=name or "linespeed",
                connect_timeout=timeout_s,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                error_cb=_quiet,
            ),
            timeout_s + 1.0,
        )
    except (OSError, TimeoutError, nats.errors.Error) as error:
        why = str(error) or type(error).__name__
        raise NatsError(f"cannot reach the NATS server at {server}: {why}") from None


async def _quiet(_error: Exception) -> None:
    """Connection errors are retried by the client; callers see what fails for good."""
