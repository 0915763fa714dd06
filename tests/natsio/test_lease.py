"""The lease on a durable consumer, on the machine's server: one holder at a time."""

from __future__ import annotations

import asyncio
import os
import time

import nats
import pytest

from linespeed.natsio.lease import ConsumerLease
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
