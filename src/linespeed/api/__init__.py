"""The HTTP API (FastAPI) and live feed behind `linespeed serve`: thin routes over the library.

`create_app(engine)` builds the application; docs/api.md describes every endpoint. Tokens,
roles, the audit log and rate limits are `linespeed.access`; the live news and the line's
board are `linespeed.live`.
"""

from __future__ import annotations

from linespeed.api.app import ApiSettings, create_app

__all__ = ["ApiSettings", "create_app"]
