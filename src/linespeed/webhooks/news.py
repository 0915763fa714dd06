"""Which news of the live feed a webhook sends, and the JSON body it POSTs.

Kinds: `milestone` (the feed's `milestone` message: a milestone car rolled off),
`station.down` (a `station-state` message whose state is `down`) and `shortage` (a
`station-state` message whose state is `starved` and whose reason is `shortage:PART`, as
the simulator, the twin and the KPIs mark a part shortage).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from linespeed.live.feed import FeedMessage

KINDS: Final = ("milestone", "station.down", "shortage")
"""What a webhook can be sent, in the order `webhook list` names them."""
SHORTAGE_PREFIX: Final = "shortage:"


def webhook_kind(message: FeedMessage) -> str | None:
    """The webhook kind of a feed message (one of KINDS), or None if no webhook sends it."""
    if message.event == "milestone":
        return "milestone"
    if message.event != "station-state":
        return None
    state, reason = message.data.get("state"), message.data.get("reason")
    if state == "down":
        return "station.down"
    if state == "starved" and isinstance(reason, str) and reason.startswith(SHORTAGE_PREFIX):
        return "shortage"
    return None


def delivery_body(plant: str, webhook_id: int, kind: str, message: FeedMessage) -> bytes:
    """The JSON body POSTed for `message`: `{"kind", "seq", "plant", "webhook", "data"}`.

    `data` is the feed's: the milestone news (`MilestoneNews.as_json()`), or the station's
    new state (`station`, `line`, `state`, `reason`, `ts`), with the `part` short for a
    shortage.
    """
    data: dict[str, Any] = dict(message.data)
    if kind == "shortage":
        data["part"] = str(data["reason"])[len(SHORTAGE_PREFIX) :]
    body = {"kind": kind, "seq": message.seq, "plant": plant, "webhook": webhook_id, "data": data}
    return msgspec.json.encode(body)
