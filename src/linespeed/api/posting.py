"""Events posted over HTTP: the body split into payloads, the token's stations checked, and
the payloads handed to the one ingest path (`Ingestor.ingest`), exactly as files are.

A body that is not JSON (or NDJSON) as a whole is refused before ingest, and nothing is
stored. Once it parses, each event gets its own outcome: accepted, duplicate, or rejected
with its reason code (and a dead letter), as from any other source.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec

from linespeed.api.errors import (
    EventsRejectedError,
    RequestError,
    UnsupportedMediaTypeError,
)
from linespeed.api.tokens import ApiToken, check_stations, require_role
from linespeed.api.writer import GroupWriter
from linespeed.events.codec import decode_event
from linespeed.events.reasons import EventRejectedError
from linespeed.ingest.core import IngestReport, Outcome, RawEvent

MAX_EVENTS: Final = 20_000
"""Events in one request at most."""
JSON_TYPES: Final = frozenset({"application/json"})
NDJSON_TYPES: Final = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-seq"}
)
_raw_list: Final = msgspec.json.Decoder(list[msgspec.Raw])
_raw_one: Final = msgspec.json.Decoder(msgspec.Raw)


class PostResult(msgspec.Struct, frozen=True):
    """What became of a request's events: counts, reasons, and one outcome per event."""

    accepted: int
    duplicates: int
    rejected: int
    reasons: dict[str, int]
    outcomes: list[Outcome]


def split_payloads(body: bytes, content_type: str | None) -> list[bytes]:
    """The event payloads of a request body: one JSON object, a JSON array, or NDJSON lines.

    Raises UnsupportedMediaTypeError for another content type; RequestError (naming the
    problem) if the body is empty, is not well-formed JSON/NDJSON, or holds more than
    MAX_EVENTS events.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in JSON_TYPES:
        payloads = _json_payloads(body)
    elif media in NDJSON_TYPES:
        payloads = _ndjson_payloads(body)
    else:
        shown = media or "none"
        raise UnsupportedMediaTypeError(
            f"content type {shown!r}: send application/json (an event or an array of events)"
            " or application/x-ndjson (one event per line)"
        )
    if not payloads:
        raise RequestError("the body holds no event", code="request.empty")
    if len(payloads) > MAX_EVENTS:
        raise RequestError(
            f"{len(payloads)} events in one request; at most {MAX_EVENTS}",
            code="request.too_many_events",
        )
    return payloads


def _json_payloads(body: bytes) -> list[bytes]:
    text = body.lstrip()
    try:
        if text.startswith(b"["):
            return [bytes(item) for item in _raw_list.decode(body)]
        return [bytes(_raw_one.decode(body))] if text else []
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise RequestError(f"malformed JSON: {error}", code="request.malformed_json") from None


def _ndjson_payloads(body: bytes) -> list[bytes]:
    payloads: list[bytes] = []
    for number, line in enumerate(body.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            payloads.append(bytes(_raw_one.decode(line)))
        except msgspec.DecodeError as error:
            raise RequestError(
                f"malformed JSON on line {number}: {error}", code="request.malformed_json"
            ) from None
    return payloads


def stations_of(payloads: Sequence[bytes]) -> list[str | None]:
    """The station each payload names (None for an event of a car as a whole); payloads that
    do not decode are left out: ingest refuses them with their reason."""
    stations: list[str | None] = []
    for payload in payloads:
        try:
            event = decode_event(payload)
        except EventRejectedError:
            continue
        stations.append(getattr(event, "station", None))
    return stations


class EventPoster:
    """Posts request bodies through one shared Ingestor, requests waiting at the same time
    grouped into one transaction (see `GroupWriter`)."""

    def __init__(self, writer: GroupWriter) -> None:
        self.writer = writer

    def prepare(
        self, token: ApiToken, body: bytes, content_type: str | None, request_id: str
    ) -> list[RawEvent]:
        """The request's payloads, ready to ingest, once the token may post them all.

        Raises ForbiddenError if the token is below operator or posts an event of a station
        outside its own (nothing is then stored), and the errors of `split_payloads`.
        """
        require_role(token, "operator")
        payloads = split_payloads(body, content_type)
        if token.stations is not None:
            check_stations(token, stations_of(payloads))
        source = f"api:token-{token.id}:{request_id}"
        return [RawEvent(payload, f"{source}:{n}") for n, payload in enumerate(payloads, 1)]

    @staticmethod
    def result(outcomes: list[Outcome]) -> PostResult:
        """The answer to a request whose events had these outcomes.

        Raises EventsRejectedError (carrying the result) if every event was rejected.
        """
        report = IngestReport()
        report.add(outcomes)
        counts: dict[str, Any] = report.as_dict()
        result = PostResult(outcomes=outcomes, **counts)
        if report.rejected == len(outcomes):
            raise EventsRejectedError(
                f"all {len(outcomes)} events were rejected: "
                + ", ".join(f"{reason} x{count}" for reason, count in counts["reasons"].items()),
                msgspec.to_builtins(result),
            )
        return result

    def post(
        self, token: ApiToken, body: bytes, content_type: str | None, request_id: str
    ) -> PostResult:
        """Ingest a request's events for `token` and wait; one outcome per event, in order.

        Raises what `prepare` and `result` raise, and what ingest raises.
        """
        batch = self.prepare(token, body, content_type, request_id)
        return self.result(self.writer.ingest(batch))
