"""The HTTP API (FastAPI) and live feed behind `linespeed serve`, with tokens and an audit log.

`create_app(engine)` builds the application; docs/api.md describes every endpoint.
"""

from __future__ import annotations

from linespeed.api.app import ApiSettings, create_app

__all__ = ["ApiSettings", "create_app"]
