"""Events posted over HTTP: the body split into payloads, the token's stations checked, and
the payloads handed to the one ingest path (`Ingestor.ingest`), exactly as files are.

A body that is not JSON (or NDJSON) as a whole is refused before ingest, and nothing is
stored. Once it parses, each event gets its own outcome: accepted, duplicate, or rejected
with its reason code (and a dead letter), as from any other source.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeAlias

import msgspec

from linespeed.access.tokens import ROLES, ApiToken, check_stations, require_role
from linespeed.api.errors import (
    EventsRejectedError,
    PayloadTooLargeError,
    RequestError,
    UnsupportedMediaTypeError,
)
from linespeed.api.writer import GroupWriter
from linespeed.events.types import EVENT_TYPES
from linespeed.ingest.core import IngestReport, Outcome, RawEvent
from linespeed.ingest.corrections import Corrector

MAX_EVENTS: Final = 20_000
"""Events in one request at most."""
JSON_TYPES: Final = frozenset({"application/json"})
NDJSON_TYPES: Final = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-seq"}
)
_raw_list: Final = msgspec.json.Decoder(list[msgspec.Raw])
_FIRST_CHARACTER: Final = re.compile(rb"[ \t\r\n]*([^ \t\r\n])")
Body: TypeAlias = bytes | bytearray
"""A request body as read (a bytearray, not copied into bytes)."""
_raw_one: Final = msgspec.json.Decoder(msgspec.Raw)


class PostResult(msgspec.Struct, frozen=True):
    """What became of a request's events: counts, reasons, and one outcome per event."""

    accepted: int
    duplicates: int
    rejected: int
    reasons: dict[str, int]
    outcomes: list[Outcome]


def split_payloads(body: Body, content_type: str | None) -> list[bytes]:
    """The event payloads of a request body: one JSON object, a JSON array, or NDJSON lines.

    Raises UnsupportedMediaTypeError for another content type; RequestError (naming the
    problem) if the body is empty, is not well-formed JSON/NDJSON, nests too deeply to
    read (request.too_deep), or holds more than MAX_EVENTS events.
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


def _json_payloads(body: Body) -> list[bytes]:
    first = _FIRST_CHARACTER.match(body)  # not body.lstrip(): that would copy the body
    try:
        if first is not None and first.group(1) == b"[":
            return [bytes(item) for item in _raw_list.decode(body)]
        return [bytes(_raw_one.decode(body))] if first is not None else []
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise RequestError(f"malformed JSON: {error}", code="request.malformed_json") from None
    except RecursionError:
        raise _too_deep("the body") from None


def _too_deep(where: str) -> RequestError:
    return RequestError(
        f"{where} nests arrays or objects too deeply to read (an event needs a few levels)",
        code="request.too_deep",
    )


def _ndjson_payloads(body: Body) -> list[bytes]:
    payloads: list[bytes] = []
    lines: list[bytes] = body.split(b"\n")  # type: ignore[assignment]  # bytearrays read alike
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            payloads.append(bytes(_raw_one.decode(line)))
        except msgspec.DecodeError as error:
            raise RequestError(
                f"malformed JSON on line {number}: {error}", code="request.malformed_json"
            ) from None
        except RecursionError:
            raise _too_deep(f"line {number}") from None
    return payloads


class _Station(msgspec.Struct):
    """The fields of an event a station limit reads (other fields skipped, not decoded)."""

    kind: Any = None
    station: Any = None


_station: Final = msgspec.json.Decoder(_Station)
_MAY_NAME_NO_STATION: Final = frozenset(
    str(kind.__struct_config__.tag)
    for kind in EVENT_TYPES
    if not any(field.name == "station" and field.required for field in msgspec.structs.fields(kind))
)
"""Kinds whose events may name no station: a car started, completed, shipped; a defect
closed off the line."""


def stations_of(payloads: Sequence[bytes]) -> list[str | None]:
    """The station each payload names (None for an event of a kind that may name none);
    payloads whose station cannot be read (not an object, a station that is not text, an
    unknown kind or one that needs a station) are left out: ingest refuses them with their
    reason. Reads only `kind` and `station`: nothing else is decoded."""
    stations: list[str | None] = []
    for payload in payloads:
        try:
            where = _station.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            continue
        if isinstance(where.station, str):
            stations.append(where.station)
        elif where.station is None and where.kind in _MAY_NAME_NO_STATION:
            stations.append(None)
    return stations


class EventPoster:
    """Posts request bodies through one shared Ingestor, requests waiting at the same time
    grouped into one transaction (see `GroupWriter`).

    Bodies are split, checked and answered on one worker thread of its own, one request at
    a time: six large bodies split at once on six threads would take turns on the
    interpreter lock with the event loop, which then answers nothing for a while; one at a
    time, the loop waits for at most one of them (and the writer).
    """

    def __init__(self, writer: GroupWriter) -> None:
        self.writer = writer
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="linespeed-api-split")

    def close(self) -> None:
        """Stop the worker thread once what is queued on it is done."""
        self._worker.shutdown(wait=True)

    def prepare(
        self, token: ApiToken, body: Body, content_type: str | None, request_id: str
    ) -> list[RawEvent]:
        """The request's payloads, ready to ingest, once the token may post them all.

        An engineer or admin token's payloads carry it as their corrector: only they may
        correct genealogy (ingest refuses other tokens' corrections, `correction.not_allowed`).
        Raises ForbiddenError if the token is below operator or posts an event of a station
        outside its own (nothing is then stored), and the errors of `split_payloads`.
        """
        require_role(token, "operator")
        payloads = split_payloads(body, content_type)
        if token.stations is not None:
            check_stations(token, stations_of(payloads))
        source = f"api:token-{token.id}:{request_id}"
        # Ingest holds a station-limited token's events to its stations on cars that have
        # not passed them (`station.not_allowed`): that needs the cars' states.
        stations = None if token.stations is None else frozenset(token.stations)
        # Genealogy corrections need the engineer role: ingest refuses them without it.
        corrector = None
        if ROLES.index(token.role) >= ROLES.index("engineer"):
            corrector = Corrector(f"token {token.id} ({token.role})", token.id)
        return [
            RawEvent(payload, f"{source}:{n}", stations=stations, corrector=corrector)
            for n, payload in enumerate(payloads, 1)
        ]

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

    async def post_async(
        self, token: ApiToken, body: Body, content_type: str | None, request_id: str
    ) -> PostResult:
        """Ingest a request's events for `token`; one outcome per event, in order. The body
        is split and checked, and the answer built, on the worker thread, and the ingest
        awaited, so a large body never blocks the event loop.

        Raises what `prepare` and `result` raise, and what ingest raises.
        """
        loop = asyncio.get_running_loop()
        batch = await loop.run_in_executor(
            self._worker, self.prepare, token, body, content_type, request_id
        )
        del body  # the payloads are copies: the body (the only reference) goes while ingesting
        outcomes = await asyncio.wrap_future(self.writer.submit(batch))
        del batch
        return await loop.run_in_executor(self._worker, self.result, outcomes)


async def read_body(
    chunks: AsyncIterator[bytes], declared_length: str | None, limit: int
) -> bytearray:
    """A request body read from `chunks`, counted as it arrives (not copied once more at
    the end: msgspec reads a bytearray as it reads bytes).

    Raises PayloadTooLargeError before reading anything if `declared_length` (the
    Content-Length header) is over `limit`, and as soon as the bytes read pass `limit`
    (the rest is never read).
    """
    declared = (declared_length or "").strip()
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"body of {int(declared)} bytes; at most {limit}")
    body = bytearray()
    async for chunk in chunks:
        if len(body) + len(chunk) > limit:
            raise PayloadTooLargeError(f"body over {limit} bytes")
        body += chunk
    return body
