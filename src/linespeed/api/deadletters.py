"""The dead-letter endpoints of /api/v1: list (filtered), dismiss, assign (engineer).

Dead letters hold raw payloads, so reading them takes the engineer role, as acting on them
does. Each answers what `linespeed deadletters ... --json` prints for the same question.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import AliasChoices, BaseModel, Field

from linespeed.access.tokens import ApiToken
from linespeed.api.auth import Engineer
from linespeed.api.routes import json_response, reject_unknown_query
from linespeed.ingest.corrections import Corrector
from linespeed.store.deadletters import (
    MAX_LIMIT,
    MAX_NAME_CHARS,
    MAX_NOTE_CHARS,
    assign,
    dismiss,
    list_dead_letters,
)

router = APIRouter(prefix="/api/v1", dependencies=[Depends(reject_unknown_query)])
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    status: {"description": f"{meaning}: `{{error: code, detail: ...}}` (docs/api.md)"}
    for status, meaning in (
        (400, "a bad value (`deadletters.input`), or a letter resolved or dismissed already"),
        (401, "no valid token"),
        (403, "the token is not an engineer's or admin's"),
        (404, "no such dead letter"),
        (422, "invalid parameters"),
        (503, "the database holds no plant or does not answer"),
    )
}
Name = Annotated[str | None, Query(max_length=MAX_NAME_CHARS)]
LetterId = Annotated[int, Path(ge=1, le=2**62, description="The dead letter's number.")]


class DismissBody(BaseModel):
    """Why the letter needs no retry."""

    note: str = Field(max_length=MAX_NOTE_CHARS)


class AssignBody(BaseModel):
    """Who is to look at the letter (`to`, or `assignee`)."""

    to: str = Field(max_length=MAX_NAME_CHARS, validation_alias=AliasChoices("to", "assignee"))


@router.get("/deadletters", tags=["events"], responses=_ERRORS)
def get_dead_letters(
    request: Request,
    _: Engineer,
    reason: Annotated[str | None, Query(max_length=64, description="reason code")] = None,
    vin: Name = None,
    station: Name = None,
    source: Annotated[str | None, Query(max_length=500, description="part of the source")] = None,
    assignee: Name = None,
    since: Annotated[datetime | None, Query(description="ISO time with offset")] = None,
    until: Annotated[datetime | None, Query(description="ISO time with offset")] = None,
    all_statuses: Annotated[
        bool, Query(alias="all", description="also resolved and dismissed ones")
    ] = False,
    limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
) -> Response:
    """Dead letters, open ones unless `all=true`, filtered (engineer; as `linespeed
    deadletters --json` with the same options)."""
    letters = list_dead_letters(
        request.app.state.engine,
        None if all_statuses else "open",
        reason=reason,
        vin=vin,
        station=station,
        source=source,
        assignee=assignee,
        since=since,
        until=until,
        limit=limit,
    )
    return json_response(letters)


@router.post("/deadletters/{letter_id}/dismiss", tags=["events"], responses=_ERRORS)
def dismiss_dead_letter(
    request: Request, letter_id: LetterId, body: Annotated[DismissBody, Body()], token: Engineer
) -> Response:
    """Dismiss an open dead letter with a note (engineer; audited as the token, as
    `linespeed deadletters dismiss ID --note TEXT --json`)."""
    letters = dismiss(request.app.state.engine, [letter_id], body.note, _actor(token))
    request.state.detail = f"dismissed dead letter #{letter_id}"
    return json_response(letters)


@router.post("/deadletters/{letter_id}/assign", tags=["events"], responses=_ERRORS)
def assign_dead_letter(
    request: Request, letter_id: LetterId, body: Annotated[AssignBody, Body()], token: Engineer
) -> Response:
    """Assign an open dead letter to someone (engineer; audited as the token, as
    `linespeed deadletters assign ID --to NAME --json`)."""
    letters = assign(request.app.state.engine, [letter_id], body.to, _actor(token))
    request.state.detail = f"assigned dead letter #{letter_id} to {body.to.strip()}"
    return json_response(letters)


def _actor(token: ApiToken) -> Corrector:
    """The token as the audit log names who acted: `token 7 (engineer)`."""
    return Corrector(f"token {token.id} ({token.role})", token.id)
