"""Dead letters: refused payloads kept with their reason, for people to fix and retry.

A letter is `open` until a retry finds it accepted (`resolved`) or a person dismisses it
with a note (`dismissed`); an open letter may be assigned to someone meanwhile. Dismissing
and assigning are audited (the audit log's `deadletters.dismiss`, `deadletters.assign`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, Protocol, get_args
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import Connection, Engine, insert, select

from linespeed.errors import InputError, LinespeedError, NotFoundError
from linespeed.store.engine import write_transaction
from linespeed.store.plants import current_revision, plant_timezone
from linespeed.store.schema import audit_log, dead_letters
from linespeed.store.text import storable_text as _storable

DeadLetterStatus = Literal["open", "resolved", "dismissed"]
STATUSES: Final[tuple[str, ...]] = get_args(DeadLetterStatus)
MAX_LIMIT: Final = 100_000
"""The most letters one list may ask for (`limit`)."""
MAX_NOTE_CHARS: Final = 2000
MAX_NAME_CHARS: Final = 200
"""The longest assignee, and the longest VIN, station or line read from a payload."""
AUDIT_DISMISS: Final = "deadletters.dismiss"
AUDIT_ASSIGN: Final = "deadletters.assign"
_LARGEST_ID: Final = 2**62
_EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST: Final = datetime(2200, 1, 1, tzinfo=UTC)


class DeadLetterInputError(InputError):
    """A dead-letter question or action that cannot be asked as given: a time without UTC
    offset, a bad status, limit, note or assignee; `parameter` names it."""

    code = "deadletters.input"


class DeadLetterNotFoundError(NotFoundError):
    """A dead letter asked for by id does not exist (HTTP 404)."""


class DeadLetterHandledError(LinespeedError):
    """A dead letter cannot be dismissed or assigned: it is resolved or already dismissed."""

    code = "deadletters.handled"


class Actor(Protocol):
    """Who dismisses or assigns: `name` as the audit log shows it (`os-user NAME`, `token 7
    (engineer)`), and the API token's id if any (`linespeed.ingest.corrections.Corrector`)."""

    @property
    def name(self) -> str: ...

    @property
    def token_id(self) -> int | None: ...


@dataclass(frozen=True)
class Rejection:
    """A refused payload on its way to the dead letters."""

    raw: bytes
    source: str
    event_id: str | None
    reason: str
    detail: str
    dead_letter_id: int | None = None


@dataclass(frozen=True)
class DeadLetter:
    """A stored dead letter."""

    id: int
    received_at: datetime
    source: str
    raw: str
    event_id: str | None
    reason: str
    detail: str
    status: DeadLetterStatus
    attempts: int
    resolved_at: datetime | None
    vin: str | None
    """The payload's `vin`, `station` and `line` when it is JSON naming them, else None."""
    station: str | None
    line: str | None
    note: str | None
    """Why it was dismissed."""
    assignee: str | None
    handled_by: str | None
    """Who last dismissed or assigned it (`os-user NAME`, `token 7 (engineer)`), and when."""
    handled_at: datetime | None


class _Where(msgspec.Struct):
    """The fields of a payload a letter is filtered by (others ignored)."""

    vin: Any = None
    station: Any = None
    line: Any = None


_where_decoder: Final = msgspec.json.Decoder(_Where)


def payload_place(raw: bytes) -> tuple[str | None, str | None, str | None]:
    """The VIN, station and line a payload names, read leniently: each one only when the
    payload is a JSON object whose field is text (of at most 200 characters), else None."""
    try:
        where = _where_decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return None, None, None
    return _name(where.vin), _name(where.station), _name(where.line)


def _name(value: object) -> str | None:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME_CHARS:
        return None
    return _storable(value)


def _text(raw: bytes) -> str:
    return _storable(raw.decode("utf-8", errors="backslashreplace"))


def record_rejections(connection: Connection, rejections: Sequence[Rejection]) -> None:
    """Store new rejections and count another attempt on retried ones, which keep the
    reason (and detail) they were first refused with; a payload has at most one open
    letter (the same payload sent again and refused for another reason: the newest)."""
    now = datetime.now(UTC)
    retried = [item for item in rejections if item.dead_letter_id is not None]
    fresh = [item for item in rejections if item.dead_letter_id is None]
    for item in retried:  # a retried letter keeps the reason it was first refused with
        connection.execute(
            dead_letters.update()
            .where(dead_letters.c.id == item.dead_letter_id)
            .values(attempts=dead_letters.c.attempts + 1)
        )
    if not fresh:
        return
    digests = {id(item): hashlib.sha256(item.raw).hexdigest() for item in fresh}
    open_letters = {
        digest: (letter_id, reason, detail)
        for letter_id, digest, reason, detail in connection.execute(
            select(
                dead_letters.c.id,
                dead_letters.c.raw_sha256,
                dead_letters.c.reason,
                dead_letters.c.detail,
            ).where(
                dead_letters.c.status == "open",
                dead_letters.c.raw_sha256.in_(set(digests.values())),
            )
        )
    }
    rows = []
    for item in fresh:
        digest = digests[id(item)]
        known = open_letters.get(digest)
        if known is None:
            open_letters[digest] = (None, item.reason, item.detail)
            rows.append(
                {
                    "received_at": now,
                    "source": _storable(item.source),
                    "raw": _text(item.raw),
                    "raw_sha256": digest,
                    "event_id": None if item.event_id is None else _storable(item.event_id),
                    "reason": item.reason,
                    "detail": _storable(item.detail),
                    "status": "open",
                    "attempts": 0,
                    "resolved_at": None,
                    **dict(zip(("vin", "station", "line"), payload_place(item.raw), strict=True)),
                }
            )
        elif known[0] is not None and known[1:] != (item.reason, item.detail):
            # The same payload refused again for another reason: keep one letter, newest reason.
            connection.execute(
                dead_letters.update()
                .where(dead_letters.c.id == known[0])
                .values(reason=item.reason, detail=_storable(item.detail))
            )
            open_letters[digest] = (known[0], item.reason, item.detail)
    if rows:
        connection.execute(dead_letters.insert(), rows)


def resolve(connection: Connection, dead_letter_ids: Sequence[int]) -> None:
    """Mark dead letters whose payload has now been accepted (or found stored) as resolved."""
    if dead_letter_ids:
        connection.execute(
            dead_letters.update()
            .where(dead_letters.c.id.in_(dead_letter_ids))
            .values(
                status="resolved",
                resolved_at=datetime.now(UTC),
                attempts=dead_letters.c.attempts + 1,
            )
        )


def list_dead_letters(
    engine: Engine,
    status: DeadLetterStatus | None = "open",
    *,
    reason: str | None = None,
    vin: str | None = None,
    station: str | None = None,
    source: str | None = None,
    assignee: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[DeadLetter]:
    """Dead letters in arrival order, of `status` (every status when None), matching every
    filter given: `reason`, `vin`, `station` and `assignee` exactly, `source` as a part of
    the source text (a file name, a topic), received at `since` or later and before `until`;
    the first `limit` of them (all when None). One code path for the CLI and the API.

    An unknown reason, VIN or station is no error: nothing matches it. Raises
    DeadLetterInputError (deadletters.input) if `status` is not one of STATUSES, a time has
    no UTC offset or lies outside 1970 to 2200, `since` is after `until`, or `limit` is not
    1 to MAX_LIMIT.
    """
    if status is not None and status not in STATUSES:
        raise DeadLetterInputError(
            lambda n: f"{n('status')} {status!r} is not one of {', '.join(STATUSES)}",
            parameter="status",
            value=status,
        )
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            _check_time(engine, name, value)
    if since is not None and until is not None and since > until:
        raise DeadLetterInputError(
            lambda n: f"{n('since')} {since.isoformat()} is after {n('until')} {until.isoformat()}",
            parameter="until",
            value=until,
        )
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise DeadLetterInputError(
            lambda n: f"{n('limit')} must be 1 to {MAX_LIMIT:,}, got {limit}",
            parameter="limit",
            value=limit,
        )
    columns = dead_letters.c
    query = select(dead_letters).order_by(columns.id)
    if status is not None:
        query = query.where(columns.status == status)
    for column, wanted in (
        (columns.reason, reason),
        (columns.vin, vin),
        (columns.station, station),
        (columns.assignee, assignee),
    ):
        if wanted is not None:
            query = query.where(column == _storable(wanted))
    if source is not None:
        query = query.where(columns.source.contains(_storable(source), autoescape=True))
    if since is not None:
        query = query.where(columns.received_at >= since)
    if until is not None:
        query = query.where(columns.received_at < until)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        return [_letter(row._mapping) for row in connection.execute(query)]


def _check_time(engine: Engine, name: str, value: datetime) -> None:
    if value.utcoffset() is None:
        local = value.replace(tzinfo=ZoneInfo(_zone(engine))).isoformat(timespec="minutes")
        raise DeadLetterInputError(
            lambda n: f"{n(name)} {value.isoformat()} has no UTC offset: write it as {local}",
            parameter=name,
            value=value,
        )
    try:
        inside = _EARLIEST <= value.astimezone(UTC) < _LATEST
    except OverflowError:  # year 1 east of UTC, year 9999 west of it
        inside = False
    if not inside:
        raise DeadLetterInputError(
            lambda n: f"{n(name)} {value.isoformat()} is outside 1970 to 2200",
            parameter=name,
            value=value,
        )


def _zone(engine: Engine) -> str:
    """The plant's time zone, for hints (UTC when the store holds no plant)."""
    with engine.connect() as connection:
        revision = current_revision(connection)
        return "UTC" if revision is None else plant_timezone(connection, revision)


def _letter(row: Any) -> DeadLetter:
    return DeadLetter(**{name: row[name] for name in _FIELDS})


_FIELDS: Final = tuple(DeadLetter.__dataclass_fields__)


def dismiss(engine: Engine, ids: Sequence[int], note: str, by: Actor) -> list[DeadLetter]:
    """Dismiss open dead letters with a note saying why; each is audited
    (`deadletters.dismiss`) in the same transaction, as done by `by`. Returns them as now
    stored, in the order of `ids`; all or none are dismissed.

    Raises DeadLetterInputError if `ids` is empty or `note` is blank or longer than 2,000
    characters, DeadLetterNotFoundError naming the first id that does not exist, and
    DeadLetterHandledError naming the first letter already resolved or dismissed.
    """
    text = _required("note", note, MAX_NOTE_CHARS)
    return _handle(
        engine,
        ids,
        by,
        {"status": "dismissed", "note": text},
        AUDIT_DISMISS,
        lambda letter: f"dismissed dead letter #{letter.id} ({letter.reason}): {text}",
    )


def assign(engine: Engine, ids: Sequence[int], assignee: str, by: Actor) -> list[DeadLetter]:
    """Assign open dead letters to `assignee` (one assigned before is assigned again); each
    is audited (`deadletters.assign`) in the same transaction, as done by `by`. Returns them
    as now stored, in the order of `ids`; all or none are assigned.

    Raises DeadLetterInputError if `ids` is empty or `assignee` is blank or longer than 200
    characters, DeadLetterNotFoundError naming the first id that does not exist, and
    DeadLetterHandledError naming the first letter already resolved or dismissed.
    """
    name = _required("assignee", assignee, MAX_NAME_CHARS)
    return _handle(
        engine,
        ids,
        by,
        {"assignee": name},
        AUDIT_ASSIGN,
        lambda letter: f"assigned dead letter #{letter.id} ({letter.reason}) to {name}",
    )


def _required(parameter: str, value: str, longest: int) -> str:
    text = _storable(value.strip())
    if not text:
        raise DeadLetterInputError(
            lambda n: f"{n(parameter)} is empty: say it in words", parameter=parameter, value=value
        )
    if len(text) > longest:
        raise DeadLetterInputError(
            lambda n: f"{n(parameter)} has {len(text):,} characters; at most {longest:,}",
            parameter=parameter,
            value=value,
        )
    return text


def _handle(
    engine: Engine,
    ids: Sequence[int],
    by: Actor,
    values: dict[str, str],
    action: str,
    detail: Callable[[DeadLetter], str],
) -> list[DeadLetter]:
    if not ids:
        raise DeadLetterInputError("no dead letter given: name one or more ids", parameter="ids")
    wanted = list(dict.fromkeys(ids))
    for letter_id in wanted:
        if not 1 <= letter_id <= _LARGEST_ID:  # the database could not even compare it
            raise DeadLetterNotFoundError(f"no dead letter #{letter_id}")
    now = datetime.now(UTC)
    with write_transaction(engine) as connection:
        found = {
            row.id: _letter(row._mapping)
            for row in connection.execute(select(dead_letters).where(dead_letters.c.id.in_(wanted)))
        }
        for letter_id in wanted:
            letter = found.get(letter_id)
            if letter is None:
                raise DeadLetterNotFoundError(f"no dead letter #{letter_id}")
            if letter.status != "open":
                raise DeadLetterHandledError(_handled(letter))
        connection.execute(
            dead_letters.update()
            .where(dead_letters.c.id.in_(wanted))
            .values(**values, handled_by=_storable(by.name), handled_at=now)
        )
        connection.execute(
            insert(audit_log),
            [
                {
                    "token_id": by.token_id,
                    "at": now,
                    "method": "CLI" if by.token_id is None else "API",
                    "path": f"deadletters/{letter_id}",
                    "action": action,
                    "outcome": "ok",
                    "status_code": 200,
                    "detail": _storable(f"by {by.name}: {detail(found[letter_id])}")[
                        :MAX_NOTE_CHARS
                    ],
                }
                for letter_id in wanted
            ],
        )
        stored = {
            row.id: _letter(row._mapping)
            for row in connection.execute(select(dead_letters).where(dead_letters.c.id.in_(wanted)))
        }
    return [stored[letter_id] for letter_id in wanted]


def _handled(letter: DeadLetter) -> str:
    if letter.status == "resolved":
        return (
            f"dead letter #{letter.id} is resolved: a retry accepted it"
            + (
                f" at {letter.resolved_at.isoformat(timespec='seconds')}"
                if letter.resolved_at
                else ""
            )
            + "; there is nothing left to dismiss or assign"
        )
    return (
        f"dead letter #{letter.id} is already dismissed"
        + (f" by {letter.handled_by}" if letter.handled_by else "")
        + (f": {letter.note}" if letter.note else "")
    )
