"""The lease on a durable consumer, on the machine's server: one holder at a time."""

from __future__ import annotations

import asyncio
import os
import time

import nats
import pytest

from linespeed.natsio.lease import ConsumerLease
from linespeed.natsio.server import NatsError
from tests.natsio.conftest import run

pytestmark = [pytest.mark.service]


def test_a_holder_whose_renewals_stopped_does_not_read_after_its_lease_lapsed(
    nats_url: str,
) -> None:
    """Another process took the lapsed lease: the old holder is told it holds it no more."""
    bucket = f"LS_LEASE_TEST_{os.getpid()}"

    async def two_holders() -> tuple[bool, bool, bool]:
        client = await nats.connect(nats_url)
        js = client.jetstream()
        old = ConsumerLease(js, bucket, ttl_s=2.0, replicas=1)
        new = ConsumerLease(js, bucket, ttl_s=2.0, replicas=1)
        try:
            await old.open()
            await new.open()
            first = await old.try_acquire()
            # no renewals (a stalled process): the entry lapses, the other takes it over
            deadline = time.monotonic() + 15.0
            while not await new.try_acquire():
                assert time.monotonic() < deadline, "the lease never lapsed"
                await asyncio.sleep(0.2)
            return first, await new.try_acquire(), await old.try_acquire()
        finally:
            await js.delete_key_value(bucket)
            await client.close()

    assert run(two_holders()) == (True, True, False)


def test_a_lease_covers_touches_only_while_their_redelivery_comes_before_it_lapses(
    nats_url: str,
) -> None:
    """Lease of 4 s on a consumer waiting 2 s for acknowledgements: what the holder pulls or
    keeps in progress is due again 2 s later, so it may do so for 4 - 2 - 0.5 s (margin)
    after a renewal; a process not holding the lease, or having released it, covers nothing."""
    bucket = f"LS_LEASE_TEST_COVER_{os.getpid()}"

    async def covered() -> tuple[float, float, float, float]:
        client = await nats.connect(nats_url)
        js = client.jetstream()
        holder = ConsumerLease(js, bucket, ttl_s=4.0, replicas=1, ack_wait_s=2.0)
        other = ConsumerLease(js, bucket, ttl_s=4.0, replicas=1, ack_wait_s=2.0)
        try:
            await holder.open()
            await other.open()
            assert await holder.try_acquire() and not await other.try_acquire()
            held = holder.covers()
            renewed = await holder.cover(held + 0.5)  # asks for more than is left: renewed
            await holder.release()
            return held, renewed, other.covers(), holder.covers()
        finally:
            await js.delete_key_value(bucket)
            await client.close()

    held, renewed, other, released = run(covered())
    assert 0 < held <= renewed <= 1.5
    assert (other, released) == (0.0, 0.0)


def test_a_bucket_whose_entries_lapse_before_the_messages_come_again_is_refused(
    nats_url: str,
) -> None:
    """A bucket made earlier for a shorter acknowledgement wait: one clear error."""
    bucket = f"LS_LEASE_TEST_SHORT_{os.getpid()}"

    async def open_short() -> str:
        client = await nats.connect(nats_url)
        js = client.jetstream()
        try:
            await ConsumerLease(js, bucket, ttl_s=2.0, replicas=1).open()
            with pytest.raises(NatsError) as raised:
                await ConsumerLease(js, bucket, ttl_s=6.0, replicas=1, ack_wait_s=3.0).open()
            return raised.value.message
        finally:
            await js.delete_key_value(bucket)
            await client.close()

    assert run(open_short()) == (
        f"the lease bucket {bucket} keeps its entries 2 s, too short for the consumer's"
        " acknowledgement wait of 3 s (it needs 2 times that): delete the bucket and it is"
        " made again"
    )
