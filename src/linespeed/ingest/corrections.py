"""Who may correct a car's genealogy, and the audit record of each correction accepted.

`part.removed` and `part.installed` with `correction: true` come only from a `Corrector`:
an API token with the engineer role, or the command line (the operating-system user). Each
one accepted is recorded in the audit log in the same transaction as the event.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, insert

from linespeed.events.types import PartInstalled, PartRemoved
from linespeed.store.schema import audit_log
from linespeed.store.text import storable_text

AUDIT_ACTION: Final = "events.correction"
"""The audit log's `action` of an accepted correction."""
AUDIT_METHOD: Final = "INGEST"
_DETAIL_CHARS: Final = 2000


@dataclass(frozen=True)
class Corrector:
    """Someone with the engineer role sending events: `name` as the audit log shows it
    (`os-user NAME`, `token 7 (engineer)`), and the API token's id if any."""

    name: str
    token_id: int | None = None


def os_user() -> Corrector:
    """The operating-system user running the command line, as a corrector."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry
        name = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return Corrector(f"os-user {name}")


def correction_audit_row(
    corrector: Corrector, event: PartInstalled | PartRemoved, source: str
) -> dict[str, Any]:
    """The audit log row of an accepted correction: who, when, which car and piece."""
    kind = "part.removed" if isinstance(event, PartRemoved) else "part.installed correction"
    piece = event.part + "".join(
        f" {name} {value}"
        for name, value in (("serial", event.serial), ("lot", event.lot))
        if value
    )
    why = f" ({event.reason})" if isinstance(event, PartRemoved) else ""
    detail = f"by {corrector.name}: {kind} {event.vin} {piece}{why}; event {event.id}"
    return {
        "token_id": corrector.token_id,
        "at": datetime.now(UTC),
        "method": AUDIT_METHOD,
        "path": storable_text(source)[:512],
        "action": AUDIT_ACTION,
        "outcome": "ok",
        "status_code": 200,
        "detail": storable_text(detail)[:_DETAIL_CHARS],
    }


def record_corrections(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Append audit rows of accepted corrections (in the caller's transaction)."""
    if rows:
        connection.execute(insert(audit_log), list(rows))
