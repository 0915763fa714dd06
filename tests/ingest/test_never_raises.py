"""Property: whatever JSON arrives, ingest answers every payload and raises nothing.

Payloads are drawn from any JSON value, and from event-shaped objects whose fields hold
extreme numbers, dates at the ends of the calendar, deep nesting, NUL and huge strings, so
that many get past decoding into the rules and the store. Runs on both backends.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from linespeed.events.types import KINDS
from linespeed.ingest.core import Ingestor, RawEvent
from linespeed.plant.model import Plant
from linespeed.plant.vin import nth_vin

EXTREME_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "2199-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
    "2025-06-30T09:41:07.120+08:00",
    "2025-06-30T09:41:07.120",
    "2025-02-30T00:00:00Z",
    "2025-06-30T24:00:00Z",
]
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324, 0.0, -0.0, 2**63, -(2**63) - 1]),
)
texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "a\x00b", "\x00", "r" * 300, "body-010", "l1", "ga-090", "s7"]),
    st.sampled_from(EXTREME_TIMES),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    "line", "station", "vin", "model", "color", "started_at", "result", "part", "serial",
    "lot", "supplier", "check", "value", "defect", "code", "severity", "action", "reason",
    "destination", "state",
]  # fmt: skip


@st.composite
def event_like(draw: st.DrawFn, vins: list[str]) -> dict[str, Any]:
    """An object shaped like an event, with some of its fields extreme."""
    fields: dict[str, Any] = {
        "id": draw(st.one_of(st.text(min_size=1, max_size=8), scalars)),
        "ts": draw(st.one_of(st.sampled_from(EXTREME_TIMES), scalars)),
        "kind": draw(st.one_of(st.sampled_from(KINDS), scalars)),
    }
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=6, unique=True)):
        plausible = st.sampled_from(vins) if name == "vin" else texts
        fields[name] = draw(st.one_of(plausible, json_values))
    return fields


def deep(depth: int) -> bytes:
    return b'{"id": "d", "ts": ' + b"[" * depth + b"]" * depth + b"}"


def payloads(vins: list[str]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        json_values.map(msgspec.json.encode),
        event_like(vins).map(msgspec.json.encode),
        st.integers(min_value=0, max_value=200_000).map(deep),
        st.binary(max_size=40),
    )


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_ingest_answers_every_payload_and_never_raises(
    memory_engine: Engine, plant: Plant, data: st.DataObject
) -> None:
    vins = [nth_vin(plant, "s7", number) for number in range(1, 4)]
    batch = data.draw(st.lists(payloads(vins), min_size=1, max_size=8))
    items = [RawEvent(item, f"prop:{n}") for n, item in enumerate(batch, 1)]

    outcomes = Ingestor(memory_engine).ingest(items)

    assert len(outcomes) == len(items)
    assert all(outcome.status in ("accepted", "duplicate", "rejected") for outcome in outcomes)
    assert all(outcome.reason for outcome in outcomes if outcome.status == "rejected")
