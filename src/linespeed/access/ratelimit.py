"""Rate limits per client address: a token bucket each, and a tally of refusals.

A client may make `burst` requests at once, then `per_s` a second on average: each request
takes one token from its address's bucket, which refills at `per_s` tokens a second up to
`burst`. The API limits write requests that carry no valid token this way, so a client
without a token can neither flood the audit log nor keep the writer busy.

Addresses are grouped as a network would hand them out: an IPv4 address alone, an IPv6
address with its /64 (one host commonly holds a whole /64). The table of buckets is bounded:
when it is full, buckets that are full again (idle clients) are dropped first, then the
longest idle.

Not thread-safe: the API uses it from its event loop only.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

MAX_ADDRESSES: Final = 10_000
"""Buckets kept at most (about 1 MB)."""
WARN_EVERY_S: Final = 60.0
"""A refused address is logged at most once in this many seconds."""

log = logging.getLogger(__name__)


def client_key(address: str | None) -> str:
    """The key an address is limited under: the IPv4 address, an IPv6 address's /64
    network, or the text as given when it is not an IP address (a Unix socket, a test)."""
    if not address:
        return "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """A token bucket per client key.

    Raises ValueError when built with `burst` below 1 or `per_s` not above 0.
    """

    def __init__(
        self,
        burst: int,
        per_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        if burst < 1:
            raise ValueError(f"burst(={burst}) must be >= 1")
        if not per_s > 0 or not math.isfinite(per_s):
            raise ValueError(f"per_s(={per_s}) must be > 0")
        self.burst = burst
        self.per_s = per_s
        self.clock = clock
        self.max_addresses = max_addresses
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """Take a token for `key`: 0.0 if it had one, else the seconds until it has one
        again (nothing is taken then)."""
        bucket = self._refilled(key)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.per_s

    def give_back(self, key: str) -> None:
        """Return a token taken for `key` (the request turned out not to count)."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(self.burst, bucket.tokens + 1)

    def _refilled(self, key: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_addresses:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            return bucket
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.per_s)
        bucket.at = now
        return bucket

    def _prune(self, now: float) -> None:
        """Drop the buckets that are full again; if none is, the longest idle half."""
        full_after_s = self.burst / self.per_s
        idle = [key for key, bucket in self._buckets.items() if now - bucket.at >= full_after_s]
        if not idle:
            by_age = sorted(self._buckets, key=lambda key: self._buckets[key].at)
            idle = by_age[: max(1, len(by_age) // 2)]
        for key in idle:
            del self._buckets[key]


class RefusalLog:
    """Counts refused requests per client key and logs a warning for a key at most once a
    `every_s` (the first refusal, then a count of those since), instead of one line or one
    audit record per refused request."""

    def __init__(
        self,
        what: str,
        *,
        every_s: float = WARN_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self.what = what
        """What was refused, for the log line, such as `write requests without a token`."""
        self.every_s = every_s
        self.clock = clock
        self.max_addresses = max_addresses
        self.total = 0
        """Requests refused since start, all keys together."""
        self._pending: dict[str, int] = {}
        self._logged_at: dict[str, float] = {}

    def refused(self, key: str) -> None:
        """Count one refusal for `key`; log the count if `key` was not logged lately."""
        self.total += 1
        self._pending[key] = self._pending.get(key, 0) + 1
        now = self.clock()
        last = self._logged_at.get(key)
        if last is not None and now - last < self.every_s:
            return
        count = self._pending.pop(key)
        if len(self._logged_at) >= self.max_addresses:
            self._forget(now)
        self._logged_at[key] = now
        log.warning(
            "rate limit: refused %d %s from %s%s",
            count,
            self.what,
            key,
            "" if last is None else f" in the last {now - last:.0f} s",
        )

    def _forget(self, now: float) -> None:
        stale = [key for key, at in self._logged_at.items() if now - at >= self.every_s]
        for key in stale or list(self._logged_at)[: len(self._logged_at) // 2 or 1]:
            del self._logged_at[key]
            self._pending.pop(key, None)
