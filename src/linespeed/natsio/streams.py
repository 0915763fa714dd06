"""A plant's stream and headquarters' sourcing stream, made before devices publish, or checked.

`LS_<PLANT>` holds `linespeed.v1.<plant>.>` in file storage, with a duplicate window in
which JetStream drops a message whose id (the event's idempotency key) it has seen.
`LS_HQ` holds no subjects of its own: it sources each plant's stream through
`$JS.<plant>.API` (the plant's JetStream domain), over the leaf node, so nothing is stored
twice at a plant and headquarters catches up after a cut link by itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Final

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import (
    ExternalStream,
    StorageType,
    StreamConfig,
    StreamInfo,
    StreamSource,
)
from nats.js.errors import NotFoundError, ServiceUnavailableError

from linespeed.natsio.server import NatsBusyError, NatsError, connect
from linespeed.natsio.subjects import HQ_STREAM, is_plant_id, plant_subjects, stream_name
from linespeed.natsio.sync import run_sync

DEFAULT_DUPLICATE_WINDOW_S: Final = 600.0
"""How long JetStream remembers message ids: a publisher resending after a lost
acknowledgement, a leader election or a short outage is deduplicated by the server."""


@dataclass(frozen=True)
class StreamPlan:
    """The stream to make or check: a plant's (one plant) or headquarters' (`hq`)."""

    plants: tuple[str, ...]
    hq: bool = False
    replicas: int = 1
    duplicate_window_s: float = DEFAULT_DUPLICATE_WINDOW_S

    def __post_init__(self) -> None:
        """Raises NatsError if a plant id is not one, no plant is named, or a plant stream
        is asked for several plants or with fewer than one replica."""
        if not self.plants:
            raise NatsError("name at least one plant (--plant ID)")
        bad = [plant for plant in self.plants if not is_plant_id(plant)]
        if bad:
            raise NatsError(f"bad plant id {bad[0]!r}: a plant id is [a-z0-9-]+")
        if not 1 <= self.replicas <= 5:
            raise NatsError(f"replicas must be 1 to 5, got {self.replicas}")
        if self.duplicate_window_s <= 0:
            raise NatsError(f"the duplicate window must be > 0 s, got {self.duplicate_window_s:g}")


@dataclass(frozen=True)
class StreamState:
    """A stream as it stands after `ensure_streams`: whether it was made now, and what it holds."""

    name: str
    created: bool
    subjects: tuple[str, ...]
    sources: tuple[str, ...]
    replicas: int
    messages: int


async def ensure_streams(js: JetStreamContext, plan: StreamPlan) -> list[StreamState]:
    """Make the streams `plan` asks for where they are missing; check those that exist.

    At a plant, one stream per plant; at headquarters, `LS_HQ` sourcing every plant's stream
    (sources it lacks are added; none is removed). Raises NatsError if a stream exists with
    other subjects than it should hold (nothing is changed then), or JetStream refuses.
    """
    if plan.hq:
        return [await _ensure_hq(js, plan)]
    return [await _ensure_plant(js, plant, plan) for plant in plan.plants]


async def _ensure_plant(js: JetStreamContext, plant: str, plan: StreamPlan) -> StreamState:
    name = stream_name(plant)
    wanted = [plant_subjects(plant)]
    info = await _info(js, name)
    if info is not None:
        have = list(info.config.subjects or [])
        if have != wanted:
            raise NatsError(
                f"stream {name} exists with subjects {have or 'none'}, not {wanted}:"
                " nothing changed (remove or rename it, or set up another plant id)"
            )
        return _state(info, created=False)
    config = StreamConfig(
        name=name,
        description=f"linespeed events of plant {plant}",
        subjects=wanted,
        storage=StorageType.FILE,
        num_replicas=plan.replicas,
        duplicate_window=plan.duplicate_window_s,
    )
    return _state(await _request(js.add_stream(config), name), created=True)


async def _ensure_hq(js: JetStreamContext, plan: StreamPlan) -> StreamState:
    sources = [
        StreamSource(name=stream_name(plant), external=ExternalStream(api=f"$JS.{plant}.API"))
        for plant in plan.plants
    ]
    info = await _info(js, HQ_STREAM)
    if info is None:
        config = StreamConfig(
            name=HQ_STREAM,
            description="linespeed: every plant's events, sourced from the plants' domains",
            storage=StorageType.FILE,
            num_replicas=plan.replicas,
            duplicate_window=plan.duplicate_window_s,
            sources=sources,
        )
        return _state(await _request(js.add_stream(config), HQ_STREAM), created=True)
    if info.config.subjects:
        raise NatsError(
            f"stream {HQ_STREAM} exists with subjects {info.config.subjects}: headquarters'"
            " stream only sources the plants' streams; nothing changed"
        )
    have = {source.name for source in info.config.sources or []}
    missing = [source for source in sources if source.name not in have]
    if not missing:
        return _state(info, created=False)
    config = info.config
    config.sources = [*(config.sources or []), *missing]
    return _state(await _request(js.update_stream(config), HQ_STREAM), created=False)


async def _info(js: JetStreamContext, name: str) -> StreamInfo | None:
    try:
        return await _request(js.stream_info(name), name)
    except _MissingError:
        return None


class _MissingError(Exception):
    """The stream does not exist."""


async def _request(request: Awaitable[StreamInfo], name: str) -> StreamInfo:
    """Await a JetStream API request about stream `name`, its failures as NatsError."""
    try:
        return await request
    except NotFoundError:
        raise _MissingError from None
    except nats.errors.NoRespondersError:
        raise NatsError(
            "JetStream does not answer on this server: start nats-server with JetStream on"
            " (-js, or a jetstream block in its configuration)"
        ) from None
    except (nats.errors.TimeoutError, TimeoutError, ServiceUnavailableError):
        raise NatsBusyError(f"JetStream did not answer about stream {name} in time") from None
    except nats.errors.Error as error:
        raise NatsError(f"JetStream refused the request for stream {name}: {error}") from None


def _state(info: StreamInfo, *, created: bool) -> StreamState:
    sources: Sequence[StreamSource] = info.config.sources or []
    return StreamState(
        name=info.config.name or "",
        created=created,
        subjects=tuple(info.config.subjects or ()),
        sources=tuple(source.name for source in sources),
        replicas=info.config.num_replicas or 1,
        messages=info.state.messages,
    )


def set_up_streams(server_url: str, plan: StreamPlan) -> list[StreamState]:
    """Connect to the server at `server_url` and `ensure_streams(plan)` there.

    Raises NatsError if the server cannot be reached, or as `ensure_streams` does.
    """

    async def set_up() -> list[StreamState]:
        client = await connect(server_url, name="linespeed-setup")
        try:
            return await ensure_streams(client.jetstream(), plan)
        finally:
            await client.close()

    return run_sync(set_up())
