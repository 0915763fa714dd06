"""Which tokens of the open live streams may still read them.

The shared poller asks this every few seconds for all open streams at once, and ends the
streams of every token not answered: revoked, deleted, and (the hook) expired.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Engine, select

from linespeed.store.schema import api_tokens


def active_token_ids(engine: Engine, token_ids: Collection[int]) -> set[int]:
    """The ids among `token_ids` of tokens that exist and are not revoked, in one query.

    Once tokens can expire, this is the one place to add the condition
    (`expires_at IS NULL OR expires_at > now`): their streams then end at expiry too.
    """
    if not token_ids:
        return set()
    query = select(api_tokens.c.id).where(
        api_tokens.c.id.in_(sorted(token_ids)), api_tokens.c.revoked_at.is_(None)
    )
    with engine.connect() as connection:
        return {int(token_id) for token_id in connection.execute(query).scalars()}
