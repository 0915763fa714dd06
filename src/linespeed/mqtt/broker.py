"""Broker addresses (`mqtt://[user:password@]host[:port]`, `mqtts://` for TLS), and the
error a broker's refusal (or absence) raises."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

from linespeed.environment import masked_url
from linespeed.errors import LinespeedError

DEFAULT_PORTS: Final = {"mqtt": 1883, "mqtts": 8883}


class BrokerError(LinespeedError):
    """A broker URL is malformed, or the broker cannot be reached or refuses us."""

    code = "mqtt.broker"


@dataclass(frozen=True)
class TlsFiles:
    """A private certificate authority to trust instead of the system's, and a client
    certificate with its key to log in with (each optional)."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


@dataclass(frozen=True)
class BrokerAddress:
    """Where a broker listens, and how to log in."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    tls_files: TlsFiles = TlsFiles()

    def with_tls_files(self, files: TlsFiles) -> BrokerAddress:
        """This address with `files` for its TLS.

        Raises BrokerError if files are given for a broker without TLS (`mqtt://`), or a key
        without its certificate.
        """
        if files == TlsFiles():
            return self
        if not self.tls:
            raise BrokerError(
                f"--ca-file, --cert and --key are for TLS: use mqtts://{self.host}:{self.port}"
            )
        if files.key_file is not None and files.cert_file is None:
            raise BrokerError("--key is the key of a client certificate: give --cert too")
        return replace(self, tls_files=files)

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS set-up for this broker: the private authority alone if given (else the
        system's), and the client certificate if given.

        Raises BrokerError naming a file that cannot be read or used.
        """
        files = self.tls_files
        try:
            context = ssl.create_default_context(cafile=files.ca_file)
        except (OSError, ssl.SSLError) as error:
            raise BrokerError(f"--ca-file {files.ca_file}: cannot use it: {error}") from None
        if files.cert_file is not None:
            try:
                context.load_cert_chain(files.cert_file, files.key_file)
            except (OSError, ssl.SSLError) as error:
                raise BrokerError(
                    f"--cert {files.cert_file}: cannot use it with its key: {error}"
                ) from None
        return context

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
