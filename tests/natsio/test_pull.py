"""Pulling from a durable consumer on the machine's server: what the consumer delivers comes."""

from __future__ import annotations

import os

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

from linespeed.natsio.pull import Puller
from tests.natsio.conftest import run

pytestmark = [pytest.mark.service]


def test_a_stored_message_with_a_status_header_is_delivered_like_any_other(
    nats_url: str,
) -> None:
    """A publisher's `Status` header is not a server status: the message comes, once."""
    name = f"LS_TEST_PULL_{os.getpid()}"
    subject = f"linespeed.test.pull.{os.getpid()}"

    async def pull_twice() -> tuple[list[bytes], list[bytes], int]:
        client = await nats.connect(nats_url)
        js = client.jetstream()
        await js.add_stream(StreamConfig(name=name, subjects=[subject], storage=StorageType.MEMORY))
        try:
            await js.publish(subject, b'{"id":"a"}', headers={"Status": "100"})
            await js.publish(subject, b'{"id":"b"}', headers={"Status": "404"})
            await js.publish(subject, b'{"id":"c"}')
            await js.add_consumer(
                name, ConsumerConfig(durable_name="d", ack_policy=AckPolicy.EXPLICIT, ack_wait=5)
            )
            puller = Puller(client, name, "d")
            await puller.open()
            first = await puller.pull(10, 0.5)
            for message in first:
                await message.ack()
            again = await puller.pull(10, 0.2)
            await puller.close()
            info = await js.consumer_info(name, "d")
            return [m.data for m in first], [m.data for m in again], info.num_ack_pending
        finally:
            await js.delete_stream(name)
            await client.close()

    first, again, unacked = run(pull_twice())
    assert first == [b'{"id":"a"}', b'{"id":"b"}', b'{"id":"c"}']
    assert (again, unacked) == ([], 0)
