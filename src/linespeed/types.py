"""Type aliases shared across linespeed."""

from __future__ import annotations

from typing import Any, TypeAlias

JsonObject: TypeAlias = dict[str, Any]
"""A decoded JSON object."""

Vin: TypeAlias = str
"""A 17-character vehicle identification number."""

StationId: TypeAlias = str
"""A station id from the plant file, unique across the plant."""
