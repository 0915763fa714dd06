"""The HTTP API (FastAPI) and live feed behind `linespeed serve`: thin routes over the library.

- `app`: `create_app(engine, settings)` and `ApiSettings`: the API under /api/v1, the
  dashboard at /, one error format.
- `routes`: the endpoints of /api/v1 (docs/api.md): parse, call the query function, answer.
- `deadletters`: GET /api/v1/deadletters, and dismissing or assigning a dead letter.
- `auth`: FastAPI dependencies checking a request's bearer token against a role.
- `posting`: posted events split into payloads and checked against the token's stations.
- `writer`: the one writing thread: group commit of posted events, and the audit log.
- `stream`: GET /api/v1/stream, the live feed as server-sent events over `linespeed.live`.
- `middleware`: audit of every write, body limits, NUL refusal, security headers.
- `errors`: request errors and the HTTP status each linespeed error answers with.
- `server`: running the application with uvicorn.

Tokens, roles, the audit log and rate limits are `linespeed.access`; the live news and the
line's board are `linespeed.live`.
"""

from __future__ import annotations

from linespeed.api.app import ApiSettings, create_app

__all__ = ["ApiSettings", "create_app"]
