"""Running the application with uvicorn: in the foreground (`linespeed serve`) or in a
background thread on a free loopback port (tests, benchmarks)."""

from __future__ import annotations

import gc
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from linespeed.api.app import ApiSettings, create_app
from linespeed.errors import LinespeedError

SWITCH_INTERVAL_S: Final = 0.001


class _Server(uvicorn.Server):
    """A uvicorn server that tells the app it is stopping, so live feeds end at once."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Ask open live feeds to end, then shut down as uvicorn does."""
        app = self.config.app
        if isinstance(app, FastAPI):
            app.state.closing = True
        await super().shutdown(sockets)


@dataclass(frozen=True)
class TlsFiles:
    """The server's certificate (its chain, PEM) and private key, to serve HTTPS."""

    cert_file: Path
    key_file: Path

    def check(self) -> None:
        """Raises LinespeedError (serve.tls) naming a file that cannot be used."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as error:
            raise LinespeedError(
                f"--tls-cert {self.cert_file} with --tls-key {self.key_file}: {error}",
                code="serve.tls",
            ) from None


def _config(
    engine: Engine,
    settings: ApiSettings | None,
    host: str,
    port: int,
    tls: TlsFiles | None = None,
) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(engine, settings or ApiSettings()),
        host=host,
        port=port,
        ssl_certfile=None if tls is None else str(tls.cert_file),
        ssl_keyfile=None if tls is None else str(tls.key_file),
        # Logging is set up by the command (`linespeed.logs.configure_logging`): uvicorn's
        # access and error lines go through its formatter, with the request's id.
        log_config=None,
        access_log=True,
        timeout_graceful_shutdown=2,
        lifespan="on",
    )


def serve(
    engine: Engine,
    host: str,
    port: int,
    settings: ApiSettings | None = None,
    tls: TlsFiles | None = None,
) -> None:
    """Serve the API and dashboard until interrupted, over HTTPS if `tls` is given.

    Raises LinespeedError (serve.bind) if the address cannot be bound, (serve.tls) if the
    certificate or key cannot be used.
    """
    if tls is not None:
        tls.check()
    try:
        server = _Server(_config(engine, settings, host, port, tls))
        _tune_for_latency()
        server.run(sockets=[_bind(host, port)])
    except OSError as error:
        raise LinespeedError(f"cannot serve on {host}:{port}: {error}", code="serve.bind") from None


def _tune_for_latency() -> None:
    """Keep the event loop answering while worker threads decode and ingest large bodies.

    Everything loaded so far (modules, the app, the plant) is moved out of the garbage
    collector's sight, so a full collection, which stops every thread, scans only what
    requests made. A thread that wants the interpreter lock gets it after 1 ms instead of
    5 ms, so the loop waits less behind a busy thread.
    """
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are
    # TCP, and without it every keep-alive answer waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@contextmanager
def running_server(
    engine: Engine,
    settings: ApiSettings | None = None,
    host: str = "127.0.0.1",
    tls: TlsFiles | None = None,
) -> Iterator[str]:
    """A server on a free port of `host` in a background thread (HTTPS with `tls`); yields
    its base URL and stops it on exit. Raises LinespeedError (serve.start) if it does not
    start in 10 s."""
    sock = _bind(host, 0)
    port = sock.getsockname()[1]
    server = _Server(_config(engine, settings, host, port, tls))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="linespeed-api", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise LinespeedError("the API server did not start", code="serve.start")
        time.sleep(0.01)
    try:
        yield f"{'http' if tls is None else 'https'}://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
