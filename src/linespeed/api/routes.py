"""The endpoints of /api/v1: parse, call the library's query function, answer its JSON.

Each GET answers what the CLI's `--json` prints for the same question. No logic lives here.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Final

import anyio.to_thread
import msgspec
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from linespeed.access.audit import MAX_PAGE, list_audit
from linespeed.api.auth import Admin, Engineer, Operator, Viewer
from linespeed.api.errors import RequestError, UnsupportedMediaTypeError
from linespeed.api.posting import EventPoster, read_body
from linespeed.kpi import kpi_report
from linespeed.kpi.report import GroupBy
from linespeed.live import last_seq
from linespeed.live.board import line_board
from linespeed.ramp.milestones import MAX_MILESTONE, milestones_reached, plan_milestone
from linespeed.ramp.references import reference_curves
from linespeed.supply.plan import import_plan, list_revisions, plan_in_force
from linespeed.supply.plan_file import MAX_PLAN_BYTES
from linespeed.supply.stock import stock_report
from linespeed.trace import (
    RECALL_CSV_TYPE,
    StatusFilter,
    missing_parts,
    part_recall,
    recall_csv,
    unit_history,
    vin_trace,
)

MAX_LIST: Final = 8
_encode: Final = msgspec.json.Encoder().encode


def json_response(value: Any, status_code: int = 200) -> Response:
    """`value` as the JSON the CLI prints for it (dataclasses, dates as ISO text)."""
    return Response(_encode(value), status_code=status_code, media_type="application/json")


async def reject_unknown_query(request: Request) -> None:
    """Refuse query parameters the endpoint does not take.

    Raises RequestError (request.unknown_parameter) naming them.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = {param.alias for param in _flat_query_params(route)}
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise RequestError(
            f"unknown query parameter(s) {', '.join(unknown)}"
            + (f"; this endpoint takes {', '.join(sorted(allowed))}" if allowed else ""),
            code="request.unknown_parameter",
        )


def _flat_query_params(route: APIRoute) -> list[Any]:
    found: list[Any] = []
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        found.extend(dependant.query_params)
        pending.extend(dependant.dependencies)
    return found


router = APIRouter(prefix="/api/v1", dependencies=[Depends(reject_unknown_query)])
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    status: {"description": f"{meaning}: `{{error: code, detail: ...}}` (docs/api.md)"}
    for status, meaning in (
        (400, "a bad value or request"),
        (401, "no valid token"),
        (403, "the token may not do this"),
        (404, "not found"),
        (413, "body too large"),
        (415, "unsupported content type"),
        (422, "invalid parameters, or every posted event rejected"),
        (429, "too many write requests without a valid token from this address"),
        (503, "the database holds no plant or does not answer"),
    )
}


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


@router.get("/health", tags=["service"])
def health(request: Request) -> Response:
    """Whether the server and its database answer (no token needed)."""
    engine = _engine(request)
    return json_response(
        {"status": "ok", "database": engine.dialect.name, "last_seq": last_seq(engine)}
    )


_EVENTS_BODY: Final = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"type": "object", "description": "one event (docs/events.md)"},
                    {"type": "array", "items": {"type": "object"}, "maxItems": 20000},
                ]
            }
        },
        "application/x-ndjson": {"schema": {"type": "string", "description": "one event a line"}},
    },
}


@router.post(
    "/events", tags=["events"], responses=_ERRORS, openapi_extra={"requestBody": _EVENTS_BODY}
)
async def post_events(request: Request, token: Operator) -> Response:
    """Ingest one event, an array of events, or NDJSON, through the one ingest path.

    Answers per event: accepted, duplicate, or rejected with its reason code (422 when
    every event was rejected). A station-limited operator token posting an event of another
    station gets 403, and nothing of the request is stored.
    """
    poster: EventPoster = request.app.state.poster
    request_id = uuid.uuid4().hex[:12]
    headers, limit = request.headers, request.app.state.max_body_bytes
    result = await poster.post_async(  # the body is passed on, not kept: it goes once split
        token,
        await read_body(request.stream(), headers.get("content-length"), limit),
        headers.get("content-type"),
        request_id,
    )
    request.state.detail = (
        f"request {request_id}: accepted {result.accepted}, duplicates {result.duplicates}, "
        f"rejected {result.rejected}"
    )
    return json_response(result)


VinPath = Annotated[str, Path(max_length=64, description="The car's VIN.")]


@router.get("/units/{vin}", tags=["cars"], responses=_ERRORS)
def get_unit(request: Request, vin: VinPath, _: Viewer) -> Response:
    """A car's full history (as `linespeed unit VIN --json`)."""
    return json_response(unit_history(_engine(request), vin))


@router.get("/trace/vin/{vin}", tags=["cars"], responses=_ERRORS)
def get_vin_trace(request: Request, vin: VinPath, _: Viewer) -> Response:
    """Every part in a car and where serials moved (as `linespeed trace vin VIN --json`)."""
    return json_response(vin_trace(_engine(request), vin))


@router.get("/trace/missing", tags=["cars"], responses=_ERRORS)
def get_missing_parts(request: Request, _: Viewer) -> Response:
    """Cars built without a serialized part their BOM requires (as `linespeed trace missing
    --json`)."""
    return json_response(missing_parts(_engine(request)))


Text = Annotated[str | None, Query(max_length=200)]
_RECALL_CSV: Final[dict[str, Any]] = {
    "content": {"text/csv": {}},
    "description": "JSON, or the recall file with `Accept: text/csv`",
}


@router.get("/trace/part/{part}", tags=["cars"], responses={**_ERRORS, 200: _RECALL_CSV})
def get_part_recall(
    request: Request,
    part: Annotated[str, Path(max_length=200, description="The part number, as in the BOM.")],
    _: Viewer,
    lot: Annotated[list[str] | None, Query(max_length=100, description="lots (repeat)")] = None,
    serial: Text = None,
    supplier: Text = None,
    installed_from: Annotated[datetime | None, Query(alias="from")] = None,
    installed_to: Annotated[datetime | None, Query(alias="to")] = None,
    status: StatusFilter | None = None,
) -> Response:
    """Every car holding a matching piece, where it is now, and counts per status
    (as `linespeed trace part PART --json`); with `Accept: text/csv`, the recall file
    (the bytes of `linespeed trace part PART --csv FILE`)."""
    recall = part_recall(
        _engine(request),
        part,
        lots=lot or [],
        serial=serial,
        supplier=supplier,
        installed_from=installed_from,
        installed_to=installed_to,
        status=status,
    )
    if _accepts_csv(request):
        return Response(recall_csv(recall).encode(), media_type=RECALL_CSV_TYPE)
    return json_response(recall.answer())


def _accepts_csv(request: Request) -> bool:
    """Whether the client asks for CSV: `text/csv` among the media types it accepts."""
    accepted = request.headers.get("accept", "")
    return any(kind.split(";")[0].strip() == "text/csv" for kind in accepted.split(","))


@router.get("/kpi", tags=["measure"], responses=_ERRORS)
def get_kpi(
    request: Request,
    _: Viewer,
    since: Annotated[datetime | None, Query(description="ISO time with offset")] = None,
    until: Annotated[datetime | None, Query(description="ISO time with offset")] = None,
    by: GroupBy | None = None,
) -> Response:
    """Counts, JPH, yield, OEE and the bottleneck (as `linespeed kpi --json`).

    Grouped by day or shift, the window spans at most 1,000 days (`kpi.input` beyond).
    """
    return json_response(kpi_report(_engine(request), since=since, until=until, by=by))


@router.get("/stock", tags=["supply"], responses=_ERRORS)
def get_stock(
    request: Request,
    _: Viewer,
    part: Annotated[str | None, Query(max_length=200, description="only this part")] = None,
) -> Response:
    """Parts on hand, lots, days of cover and run-out days (as `linespeed stock --json`)."""
    return json_response(stock_report(_engine(request), part=part))


@router.get("/milestones", tags=["measure"], responses=_ERRORS)
def get_milestones(request: Request, _: Viewer) -> Response:
    """Milestone cars reached so far (as `linespeed milestones --json`)."""
    return json_response(milestones_reached(_engine(request)))


MilestoneNumber = Annotated[int, Path(ge=1, le=MAX_MILESTONE, description="The Nth car.")]


@router.get("/milestones/plan/{number}", tags=["measure"], responses=_ERRORS)
def get_milestone_plan(request: Request, number: MilestoneNumber, _: Viewer) -> Response:
    """Which car will be the Nth completed car (as `linespeed milestones plan N --json`)."""
    return json_response(plan_milestone(_engine(request), number))


@router.post("/milestones/plan/{number}", tags=["measure"], responses=_ERRORS)
def record_milestone_plan(request: Request, number: MilestoneNumber, _: Engineer) -> Response:
    """Record the best candidate as the car to build in the milestone colour (engineer)."""
    plan = plan_milestone(_engine(request), number, record=True)
    request.state.detail = f"milestone {number}: start #{plan.best.start_seq if plan.best else '-'}"
    return json_response(plan)


References = Annotated[
    list[str] | None, Query(max_length=MAX_LIST, description="reference ramp names")
]


@router.get("/ramp", tags=["measure"], responses=_ERRORS)
def get_ramp(
    request: Request,
    _: Viewer,
    reference: References = None,
    forecast: Annotated[
        list[Annotated[int, Query(ge=1, le=MAX_MILESTONE)]] | None,
        Query(max_length=MAX_LIST, description="forecast the day the plant reaches N"),
    ] = None,
    twin: Annotated[
        bool, Query(description="also forecast by running the plant's twin (seconds)")
    ] = False,
) -> Response:
    """The ramp against reference ramps, with forecasts (as `linespeed ramp --json`; with
    `twin=true`, as `linespeed ramp --twin --json`)."""
    from linespeed.ramp.report import DEFAULT_REFERENCES, ramp_report

    engine, references, targets = _engine(request), reference or DEFAULT_REFERENCES, forecast or ()
    if twin:
        from linespeed.twin.forecast import ramp_report_with_twin

        report = ramp_report_with_twin(engine, references=references, targets=targets)
    else:
        report = ramp_report(engine, references=references, targets=targets)
    return json_response(report.to_json())


@router.get("/ramp/references", tags=["measure"], responses=_ERRORS)
def get_reference_curves(request: Request, _: Viewer, reference: References = None) -> Response:
    """Reference ramps as days since start of production against cumulative cars."""
    from linespeed.ramp.report import DEFAULT_REFERENCES

    return json_response(reference_curves(reference or DEFAULT_REFERENCES))


@router.get("/board", tags=["measure"], responses=_ERRORS)
def get_board(
    request: Request,
    _: Viewer,
    day: Annotated[date | None, Query(description="plant-local day (default: latest)")] = None,
) -> Response:
    """The line's board: the day's counts, stations, open defects, milestone countdown
    (as `linespeed board --json`)."""
    return json_response(line_board(_engine(request), day=day))


@router.get("/audit", tags=["service"], responses=_ERRORS)
def get_audit(
    request: Request,
    _: Admin,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """Write requests as recorded, newest first (admin; as `linespeed audit --json`)."""
    return json_response(list_audit(_engine(request), limit=limit, before_id=before_id))


_PLAN_BODY: Final = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string", "description": "date,line,shift,model,quantity"}}
    },
}


@router.post("/plan", tags=["plan"], responses=_ERRORS, openapi_extra={"requestBody": _PLAN_BODY})
async def post_plan(request: Request, token: Engineer) -> Response:
    """Store a plan file (the CSV of `linespeed plan import`) as a new plan revision
    (engineer). A bad file is refused whole (400 `plan.invalid`, every problem listed by
    line and field), and nothing is stored."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "text/csv":
        raise UnsupportedMediaTypeError(
            f"content type {media or 'none'!r}: send the plan file as text/csv"
        )
    limit = min(request.app.state.max_body_bytes, MAX_PLAN_BYTES)
    body = await read_body(request.stream(), request.headers.get("content-length"), limit)
    source = f"api:token {token.id}" + (f" ({token.label})" if token.label else "")
    revision = await anyio.to_thread.run_sync(import_plan, _engine(request), bytes(body), source)
    request.state.detail = (
        f"plan revision {revision.revision}: {revision.first_day} to {revision.last_day}, "
        f"{revision.rows} rows, {revision.quantity} cars"
    )
    return json_response({"imported": True, **vars(revision)})


@router.get("/plan", tags=["plan"], responses=_ERRORS)
def get_plan(
    request: Request,
    _: Viewer,
    first_day: Annotated[date | None, Query(alias="from", description="first day")] = None,
    last_day: Annotated[date | None, Query(alias="to", description="last day, included")] = None,
) -> Response:
    """The plan in force for each day (as `linespeed plan show --json`)."""
    return json_response(plan_in_force(_engine(request), first_day=first_day, last_day=last_day))


@router.get("/plan/revisions", tags=["plan"], responses=_ERRORS)
def get_plan_revisions(request: Request, _: Viewer) -> Response:
    """Every plan revision, newest first (as `linespeed plan list --json`)."""
    return json_response({"revisions": list_revisions(_engine(request))})
