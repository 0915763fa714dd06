"""The subjects, stream names and message ids of contract 3's NATS line, in one place.

NATS's MQTT listener turns the topic `linespeed/v1/<plant>/<line>/<station>/events` into the
subject `linespeed.v1.<plant>.<line>.<station>.events`; a plant's stream `LS_<PLANT>` holds
`linespeed.v1.<plant>.>`. The message id (`Nats-Msg-Id`) is the event's idempotency key,
`station:<station>/<id>` or `line:<line>/<id>`, and a digest of the payload after `#`, so
JetStream drops a byte-identical repeat within its duplicate window (ingest counts any later
one as a duplicate) and an event with the same key and other content reaches ingest, which
refuses it (`id.conflict`).
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

SUBJECT_ROOT: Final = "linespeed.v1"
"""`linespeed.mqtt.topics.TOPIC_ROOT` with `/` as `.` (the packages know nothing of each other)."""
LINE_LEVEL: Final = "_"
"""The station level of a subject for events of the line, as `linespeed.mqtt.topics.LINE_LEVEL`."""
HQ_STREAM: Final = "LS_HQ"
HQ_DOMAIN: Final = "hq"
MSG_ID_HEADER: Final = "Nats-Msg-Id"
_PLANT_ID: Final = re.compile(r"[a-z0-9-]+")
_NAME: Final = re.compile(r"[A-Za-z0-9_-]+")
_DIGEST_HEX: Final = 16
"""How many hex digits of the payload's SHA-256 a message id ends with."""


def is_plant_id(plant: str) -> bool:
    """Whether `plant` is a plant id (`[a-z0-9-]+`, as contract 1 says)."""
    return _PLANT_ID.fullmatch(plant) is not None


def is_name(name: str) -> bool:
    """Whether `name` may name a stream, a consumer or a bucket (`[A-Za-z0-9_-]+`)."""
    return _NAME.fullmatch(name) is not None


def stream_name(plant: str) -> str:
    """The stream of `plant`: `LS_` and the id upper-cased (`yz1` -> `LS_YZ1`, `-` kept)."""
    return f"LS_{plant.upper()}"


def plant_subjects(plant: str) -> str:
    """Every subject of `plant`: `linespeed.v1.<plant>.>` (what its stream holds)."""
    return f"{SUBJECT_ROOT}.{plant}.>"


def events_subject(plant: str, line: str, station: str | None) -> str:
    """The subject a station (or, with no station, the line: `_`) publishes its events to."""
    return f"{SUBJECT_ROOT}.{plant}.{line}.{station or LINE_LEVEL}.events"


def subject_topic(subject: str) -> str:
    """The MQTT topic a subject stands for (`.` -> `/`), as the MQTT listener maps them."""
    return subject.replace(".", "/")


def message_id(event_id: str, line: str | None, station: str | None, payload: bytes) -> str:
    """The `Nats-Msg-Id` of an event: its idempotency key (`station:<s>/<id>` or
    `line:<l>/<id>`), `#` and the first 16 hex digits of the payload's SHA-256.

    The digest keeps JetStream from dropping an event with a known key and other content
    within its duplicate window: ingest must see it to refuse it as `id.conflict`.
    """
    key = f"station:{station}/{event_id}" if station else f"line:{line}/{event_id}"
    return f"{key}#{hashlib.sha256(payload).hexdigest()[:_DIGEST_HEX]}"
