"""Streams a test made on the machine's shared NATS server, removed with their leases."""

from __future__ import annotations

import nats

from tests.natsio.conftest import run


def remove_streams(url: str, *names: str) -> None:
    """Delete the streams `names` (and their consumers and lease buckets) at `url`."""

    async def remove() -> None:
        client = await nats.connect(url)
        js = client.jetstream()
        for stream in await js.streams_info():
            name = stream.config.name or ""
            if any(name == mine or name.startswith(f"KV_LS_LEASE_{mine}_") for mine in names):
                await js.delete_stream(name)
        await client.close()

    run(remove())
