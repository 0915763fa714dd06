"""Which of several ingest processes on one durable consumer reads it: a lease in a bucket.

A durable consumer is one ordered feed: were two processes to pull from it at once, each
would commit its own batches, out of the stream's order, and ingest would refuse a car's
later events that came before its earlier ones. So one process holds the consumer's lease
(a key in a JetStream key-value bucket whose entries live `ttl_s`) and renews it every
`ttl_s / 6`; the others wait as hot standbys and take the lease over once it has lapsed.
`ttl_s` is at least the consumer's acknowledgement wait and a half: by the time a standby
takes over, everything the dead holder had fetched is being delivered again, first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from typing import Final

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyWrongLastSequenceError, ServiceUnavailableError
from nats.js.kv import KeyValue

from linespeed.natsio.server import NatsBusyError, NatsError

LEASE_FACTOR: Final = 1.5
"""The lease's life, in acknowledgement waits of the consumer it guards."""
_RENEWALS_PER_LIFE: Final = 6


def lease_bucket(stream: str, durable: str) -> str:
    """The bucket of the lease of consumer `durable` on `stream`."""
    return f"LS_LEASE_{stream}_{durable}"


class ConsumerLease:
    """The lease on one durable consumer: acquire, renew, release."""

    def __init__(self, js: JetStreamContext, bucket: str, ttl_s: float, replicas: int) -> None:
        self.js = js
        self.bucket = bucket
        self.ttl_s = ttl_s
        self.replicas = replicas
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}".encode()
        self.held = False
        self._revision = 0
        self._renewed_at = 0.0
        self._kv: KeyValue | None = None

    @property
    def renew_every_s(self) -> float:
        """How often the holder renews its lease."""
        return self.ttl_s / _RENEWALS_PER_LIFE

    async def open(self) -> None:
        """Find or make the bucket. Raises NatsError if JetStream refuses."""
        try:
            try:
                self._kv = await self.js.key_value(self.bucket)
            except BucketNotFoundError:
                self._kv = await self.js.create_key_value(
                    KeyValueConfig(
                        bucket=self.bucket,
                        description="linespeed: which ingest process reads the consumer",
                        history=1,
                        ttl=self.ttl_s,
                        storage=StorageType.FILE,
                        replicas=self.replicas,
                    )
                )
            status = await self._kv.status()
            if status.ttl:
                self.ttl_s = status.ttl
        except (nats.errors.TimeoutError, TimeoutError, ServiceUnavailableError):
            raise NatsBusyError(f"JetStream did not answer about {self.bucket} in time") from None
        except nats.errors.Error as error:
            raise NatsError(f"cannot open the consumer's lease {self.bucket}: {error}") from None

    async def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; whether this process holds it now.

        A lease held but not renewed for half its life is not trusted (renewals failing):
        it is checked in the bucket again, as if it were not held.
        """
        if self.held and time.monotonic() - self._renewed_at < self.ttl_s / 2:
            return True
        self.held = False
        kv = self._bucket()
        try:
            self._revision = await kv.create("holder", self.holder)
        except KeyWrongLastSequenceError:
            try:
                entry = await kv.get("holder")
            except (nats.errors.Error, TimeoutError):
                return False
            if entry.value != self.holder or entry.revision is None:
                return False
            self._revision = entry.revision  # still ours: renewals had failed for a while
        except (nats.errors.Error, TimeoutError):
            return False  # JetStream busy (a leader election): try again later
        self._renewed_at = time.monotonic()
        self.held = True
        return True

    async def renew(self) -> bool:
        """Renew the lease; whether it is still this process's (False: lost, stop reading)."""
        if not self.held:
            return False
        kv = self._bucket()
        try:
            self._revision = await kv.update("holder", self.holder, last=self._revision)
            self._renewed_at = time.monotonic()
        except KeyWrongLastSequenceError:
            self.held = False
        except (nats.errors.Error, TimeoutError):
            # not lost yet, but stop reading well before it could lapse
            self.held = time.monotonic() - self._renewed_at < self.ttl_s / 2
        return self.held

    async def release(self) -> None:
        """Give the lease up at once (after the last batch is acknowledged)."""
        if not self.held:
            return
        self.held = False
        with contextlib.suppress(nats.errors.Error, TimeoutError):  # else it lapses by itself
            await asyncio.wait_for(self._bucket().delete("holder", last=self._revision), 2.0)

    def _bucket(self) -> KeyValue:
        if self._kv is None:
            raise NatsError(f"the lease {self.bucket} is not open")
        return self._kv
