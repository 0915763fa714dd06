"""Which of several ingest processes on one durable consumer reads it: a lease in a bucket.

A durable consumer is one ordered feed: were two processes to pull from it at once, each
would commit its own batches, out of the stream's order, and ingest would refuse a car's
later events that came before its earlier ones. So one process holds the consumer's lease
(a key in a JetStream key-value bucket whose entries live `ttl_s`, two acknowledgement waits)
and renews it; the others wait as hot standbys and take the lease over once it has lapsed.

A standby must not pull a message that comes after one the dead holder left unacknowledged:
JetStream delivers those again, first, only once their acknowledgement wait has run out since
they were delivered or last kept in progress. So the holder touches messages (pulls them, or
keeps them in progress) only while its lease `covers` them: until one acknowledgement wait and
a margin before the lease would lapse, counted from before its last renewal was sent. A lease
taken over after it lapsed finds every message of the dead holder being delivered again; one
given up (`release`) after its messages were handed back is taken over at once.
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

LEASE_FACTOR: Final = 2.0
"""The lease's life, in acknowledgement waits of the consumer it guards: one for the messages
touched last to be due again, the rest for the holder to pull and commit between renewals."""
_RENEWALS_PER_LIFE: Final = 6
_MARGIN: Final = 0.1
"""Of an acknowledgement wait: how much earlier than needed the holder stops touching messages
(a message on its way, the server's redelivery timer), at least `_MIN_MARGIN_S`."""
_MIN_MARGIN_S: Final = 0.5


def lease_bucket(stream: str, durable: str) -> str:
    """The bucket of the lease of consumer `durable` on `stream`."""
    return f"LS_LEASE_{stream}_{durable}"


class ConsumerLease:
    """The lease on one durable consumer: acquire, renew, release."""

    def __init__(
        self,
        js: JetStreamContext,
        bucket: str,
        ttl_s: float,
        replicas: int,
        ack_wait_s: float | None = None,
    ) -> None:
        self.js = js
        self.bucket = bucket
        self.ttl_s = ttl_s
        self.replicas = replicas
        self.ack_wait_s = ttl_s / LEASE_FACTOR if ack_wait_s is None else ack_wait_s
        """The acknowledgement wait of the consumer the lease guards."""
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}".encode()
        self.held = False
        self.taken = 0
        """How many times this process has taken the lease (held it again after it did not)."""
        self._revision = 0
        self._renewed_at = 0.0
        self._kv: KeyValue | None = None

    @property
    def renew_every_s(self) -> float:
        """How often the holder renews its lease."""
        return self.ttl_s / _RENEWALS_PER_LIFE

    @property
    def reach_s(self) -> float:
        """How long after a renewal the holder may still touch messages (pull them, or keep
        them in progress): their redelivery then comes a margin before the lease lapses."""
        margin_s = max(_MARGIN * self.ack_wait_s, _MIN_MARGIN_S)
        return self.ttl_s - self.ack_wait_s - margin_s

    def covers(self) -> float:
        """For how many seconds from now messages touched are due again before the lease
        lapses (0 if this process does not hold it)."""
        if not self.held:
            return 0.0
        return max(0.0, self._renewed_at + self.reach_s - time.monotonic())

    async def cover(self, seconds: float) -> float:
        """Renew the lease if it covers less than `seconds`; for how long it covers now."""
        if self.held and self.covers() < seconds:
            await self.renew()
        return self.covers()

    async def open(self) -> None:
        """Find or make the bucket. Raises NatsBusyError if JetStream does not answer in time,
        NatsError if it refuses, or if the bucket (made earlier) keeps its entries too short a
        time for the consumer's acknowledgement wait."""
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
        if self.reach_s <= 0:
            raise NatsError(
                f"the lease bucket {self.bucket} keeps its entries {self.ttl_s:g} s, too short"
                f" for the consumer's acknowledgement wait of {self.ack_wait_s:g} s (it needs"
                f" {LEASE_FACTOR:g} times that): delete the bucket and it is made again"
            )

    async def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; whether this process holds it now.

        A lease held but not renewed for half its life is not trusted (renewals failing):
        it is checked in the bucket again, as if it were not held.
        """
        if self.held and time.monotonic() - self._renewed_at < self.ttl_s / 2:
            return True
        self.held = False
        kv = self._bucket()
        sent_at = time.monotonic()
        try:
            self._revision = await kv.create("holder", self.holder)
        except KeyWrongLastSequenceError:
            try:
                entry = await kv.get("holder")
                if entry.value != self.holder or entry.revision is None:
                    return False
                # still ours (renewals had failed for a while): renewed, not only read, so
                # that it lives as long as what is touched from now on needs
                sent_at = time.monotonic()
                self._revision = await kv.update("holder", self.holder, last=entry.revision)
            except (nats.errors.Error, TimeoutError):
                return False
        except (nats.errors.Error, TimeoutError):
            return False  # JetStream busy (a leader election): try again later
        self._renewed_at = sent_at
        self.held = True
        self.taken += 1
        return True

    async def renew(self) -> bool:
        """Renew the lease; whether it is still this process's (False: lost, stop reading)."""
        if not self.held:
            return False
        kv = self._bucket()
        sent_at = time.monotonic()  # the entry lives `ttl_s` from a moment after this
        try:
            self._revision = await kv.update("holder", self.holder, last=self._revision)
            self._renewed_at = sent_at
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
