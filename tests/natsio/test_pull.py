"""Pulling from a durable consumer: what the consumer delivers comes, in the stream's order,
also to a reader taking over from a dead one (on a server of the test's own)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

import nats
import pytest
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

from linespeed.bridges.nats import delivered
from linespeed.natsio.pull import Puller, Takeover
from tests.natsio.conftest import NatsServer, js_ready, run, wait_until

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


@pytest.mark.slow
def test_a_reader_taking_over_after_a_restart_gets_what_the_dead_reader_left_first(
    tmp_path: Path, own_servers: list[NatsServer], caplog: pytest.LogCaptureFixture
) -> None:
    """A reader pulls five of ten messages and dies; the server restarts (its consumer's
    leader takes over afresh). The next reader waits until those five are due first, then
    gets all ten in the stream's order, the five delivered a second time."""
    server = NatsServer(tmp_path, "single")
    own_servers.append(server)
    server.start()
    wait_until(lambda: js_ready(server.url), 30.0, "JetStream")
    subject = "linespeed.test.takeover"

    async def first_reader() -> list[bytes]:
        client = await nats.connect(server.url)
        js = client.jetstream()
        await js.add_stream(StreamConfig(name="LS_TAKEOVER", subjects=[subject]))
        for n in range(10):
            await js.publish(subject, f"{n}".encode())
        config = ConsumerConfig(durable_name="d", ack_policy=AckPolicy.EXPLICIT, ack_wait=1)
        await js.add_consumer("LS_TAKEOVER", config)
        puller = Puller(client, "LS_TAKEOVER", "d")
        await puller.open()
        pulled = await puller.pull(5, 0.5)
        await client.close()  # dies: nothing acknowledged, nothing handed back
        return [message.data for message in pulled]

    async def next_reader() -> list[tuple[bytes, int]]:
        client = await nats.connect(server.url)
        puller = Puller(client, "LS_TAKEOVER", "d")
        await puller.open()
        takeover = Takeover(puller)
        while not await takeover.ready(1):
            await asyncio.sleep(0.05)
        came: list[Msg] = []
        while len(came) < 10:
            messages = await puller.pull(10, 0.5)
            for message in messages:
                await message.ack_sync()
            came.extend(messages)
        await client.close()
        return [(message.data, delivered(message.reply)) for message in came]

    assert run(first_reader()) == [b"0", b"1", b"2", b"3", b"4"]
    time.sleep(1.5)  # the five are due again (the lease of a dead reader lapses later still)
    server.kill()
    server.start()
    wait_until(lambda: js_ready(server.url), 30.0, "JetStream again")
    with caplog.at_level(logging.WARNING, logger="linespeed.natsio.pull"):
        came = run(next_reader())
    assert came == [(f"{n}".encode(), 2 if n < 5 else 1) for n in range(10)]
    assert [record.getMessage() for record in caplog.records] == [
        "LS_TAKEOVER/d: 5 messages delivered before were not acknowledged (a reader stopped);"
        " pulling in 2 s, once JetStream delivers them again first"
    ]
