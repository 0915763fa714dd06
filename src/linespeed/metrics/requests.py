"""API metrics: how long requests take to be answered, by route template, method and status.

The route is the template (`/api/v1/units/{vin}`), never the raw path, so the label takes a
bounded number of values; requests that match no route are `unmatched`.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Histogram

REQUEST_SECONDS: Final = Histogram(
    "linespeed_api_request_seconds",
    "Seconds from a request's arrival to the start of its answer, by route template.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request: its route template, method, status code and seconds."""
    REQUEST_SECONDS.labels(route, method, str(status)).observe(seconds)
