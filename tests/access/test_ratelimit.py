"""Rate limits per client address (access/ratelimit.py) on a clock the test moves: the token
bucket, tokens given back, addresses grouped per host or IPv6 /64, the bounded tables, and
the tally of refusals logged at most once a WARN_EVERY_S per address.

tests/api/test_limits.py has the first cases of each (refill, a bounded table's size,
the log line after a minute, client_key); these go on from there.
"""

from __future__ import annotations

import logging
import math

import pytest

from linespeed.access.ratelimit import (
    MAX_ADDRESSES,
    WARN_EVERY_S,
    RateLimiter,
    RefusalLog,
    client_key,
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def drain(limiter: RateLimiter, key: str) -> None:
    """Take every token `key` has (its whole burst)."""
    while limiter.take(key) == 0.0:
        pass


def test_a_client_makes_its_burst_at_once_then_waits_for_each_token(clock: Clock) -> None:
    limiter = RateLimiter(5, 0.25, clock=clock)
    assert [limiter.take("10.0.0.1") for _ in range(5)] == [0.0] * 5
    # Empty: one token every 4 s; a refusal takes nothing and says how long to wait.
    assert [limiter.take("10.0.0.1") for _ in range(3)] == [4.0, 4.0, 4.0]
    clock.now += 3
    assert limiter.take("10.0.0.1") == pytest.approx(1.0)
    clock.now += 1
    assert limiter.take("10.0.0.1") == 0.0
    # Refilling 1 s at a time adds up: 4 s later the next one is there.
    for _ in range(3):
        clock.now += 1
        assert limiter.take("10.0.0.1") > 0
    clock.now += 1
    assert limiter.take("10.0.0.1") == 0.0


def test_one_clients_flood_leaves_the_others_their_burst(clock: Clock) -> None:
    limiter = RateLimiter(2, 1 / 60, clock=clock)
    drain(limiter, "10.0.0.1")
    assert limiter.take("10.0.0.1") == pytest.approx(60.0)
    assert [limiter.take("10.0.0.2") for _ in range(3)] == [0.0, 0.0, pytest.approx(60.0)]


def test_a_token_given_back_can_be_taken_again(clock: Clock) -> None:
    limiter = RateLimiter(1, 1 / 3600, clock=clock)
    assert limiter.take("10.0.0.1") == 0.0
    limiter.give_back("10.0.0.1")
    assert limiter.take("10.0.0.1") == 0.0
    assert limiter.take("10.0.0.1") > 0


def test_giving_back_never_lifts_a_bucket_above_its_burst(clock: Clock) -> None:
    limiter = RateLimiter(3, 1 / 3600, clock=clock)
    limiter.take("10.0.0.1")
    for _ in range(10):
        limiter.give_back("10.0.0.1")
    assert [limiter.take("10.0.0.1") for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(3600.0)]


def test_giving_back_to_an_unknown_client_changes_nothing(clock: Clock) -> None:
    limiter = RateLimiter(2, 1 / 3600, clock=clock)
    limiter.give_back("10.0.0.9")
    assert [limiter.take("10.0.0.9") > 0 for _ in range(3)] == [False, False, True]


@pytest.mark.parametrize(("burst", "per_s"), [(-1, 1.0), (1, math.inf), (1, -math.inf), (1, -0.0)])
def test_a_limiter_is_refused_without_a_burst_or_a_finite_positive_rate(
    burst: int, per_s: float
) -> None:
    with pytest.raises(ValueError, match="must be"):
        RateLimiter(burst, per_s)


def test_hosts_of_one_ipv6_64_share_one_budget(clock: Clock) -> None:
    limiter = RateLimiter(2, 1 / 3600, clock=clock)
    hosts = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:DB8:1:2:ffff:ffff:ffff:ffff"]
    assert [limiter.take(client_key(host)) > 0 for host in hosts] == [False, False, True]
    # The next /64, and each IPv4 host, has a budget of its own.
    assert limiter.take(client_key("2001:db8:1:3::1")) == 0.0
    assert limiter.take(client_key("192.0.2.1")) == 0.0
    assert limiter.take(client_key("192.0.2.2")) == 0.0


@pytest.mark.parametrize(
    ("spellings", "key"),
    [
        (["2001:db8::1", "2001:0db8:0000:0000::0001", "2001:DB8::1"], "2001:db8::/64"),
        (["192.0.2.7", "::ffff:192.0.2.7", "::FFFF:c000:0207"], "192.0.2.7"),
        (["fe80::1%eth0", "fe80::2"], "fe80::/64"),
        ([None, ""], "unknown"),
    ],
)
def test_every_spelling_of_an_address_has_one_key(spellings: list[str | None], key: str) -> None:
    assert {client_key(spelling) for spelling in spellings} == {key}


def test_a_key_that_is_not_an_ip_address_is_cut_to_100_characters() -> None:
    assert client_key("unix:" + "s" * 500) == ("unix:" + "s" * 500)[:100]


def test_the_table_holds_at_most_max_addresses_by_default(clock: Clock) -> None:
    limiter = RateLimiter(1, 1.0, clock=clock)
    assert limiter.max_addresses == MAX_ADDRESSES
    for n in range(MAX_ADDRESSES + 1):
        limiter.take(f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}")
    assert len(limiter._buckets) <= MAX_ADDRESSES


def test_a_full_table_forgets_idle_clients_first_and_keeps_limiting_busy_ones(
    clock: Clock,
) -> None:
    limiter = RateLimiter(1, 0.1, clock=clock, max_addresses=3)
    drain(limiter, "idle")
    clock.now += 10  # "idle" is full again (1 token at 0.1 a second)
    drain(limiter, "busy-1")
    drain(limiter, "busy-2")
    assert limiter.take("newcomer") == 0.0
    # Only "idle" made room: the busy clients are still refused.
    assert limiter.take("busy-1") > 0
    assert limiter.take("busy-2") > 0


def test_a_full_table_without_idle_clients_forgets_the_longest_idle_half(clock: Clock) -> None:
    limiter = RateLimiter(1, 1 / 3600, clock=clock, max_addresses=4)
    for key in ("a", "b", "c", "d"):
        drain(limiter, key)
        clock.now += 1
    assert limiter.take("e") == 0.0
    # "c" and "d" are still limited; "a" and "b" were forgotten and start again full.
    assert [limiter.take(key) == 0.0 for key in ("c", "d", "a", "b")] == [
        False,
        False,
        True,
        True,
    ]


def test_refusals_are_logged_once_per_address_per_period(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    refusals = RefusalLog("posts", every_s=10, clock=clock)
    with caplog.at_level(logging.WARNING, logger="linespeed.access.ratelimit"):
        refusals.refused("10.0.0.1")
        refusals.refused("10.0.0.2")  # another address: logged at once too
        clock.now += 9.5
        refusals.refused("10.0.0.1")
        refusals.refused("10.0.0.1")
        clock.now += 0.5  # 10 s after its first line
        refusals.refused("10.0.0.1")
        clock.now += 25
        refusals.refused("10.0.0.2")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "rate limit: refused 1 posts from 10.0.0.1"),
        ("WARNING", "rate limit: refused 1 posts from 10.0.0.2"),
        ("WARNING", "rate limit: refused 3 posts from 10.0.0.1 in the last 10 s"),
        ("WARNING", "rate limit: refused 1 posts from 10.0.0.2 in the last 35 s"),
    ]
    assert refusals.total == 6


def test_refusals_between_log_lines_are_counted_not_logged(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    refusals = RefusalLog("posts", clock=clock)
    assert refusals.every_s == WARN_EVERY_S
    with caplog.at_level(logging.WARNING, logger="linespeed.access.ratelimit"):
        for _ in range(1000):
            refusals.refused("10.0.0.1")
            clock.now += WARN_EVERY_S / 1000
    assert len(caplog.records) == 1
    assert refusals.total == 1000


def test_the_log_table_stays_bounded_and_a_forgotten_address_is_logged_anew(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    refusals = RefusalLog("posts", clock=clock, max_addresses=10)
    with caplog.at_level(logging.WARNING, logger="linespeed.access.ratelimit"):
        for n in range(100):
            refusals.refused(f"10.0.0.{n}")
            clock.now += 0.01
        assert len(refusals._logged_at) <= 10
        caplog.clear()
        refusals.refused("10.0.0.0")  # forgotten long since: a first line again
    assert [r.getMessage() for r in caplog.records] == ["rate limit: refused 1 posts from 10.0.0.0"]


def test_an_address_refused_again_when_the_table_is_full_is_logged(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    refusals = RefusalLog("posts", every_s=60, clock=clock, max_addresses=2)
    with caplog.at_level(logging.WARNING, logger="linespeed.access.ratelimit"):
        refusals.refused("10.0.0.1")
        refusals.refused("10.0.0.2")
        clock.now += 61
        refusals.refused("10.0.0.1")
    assert caplog.records[-1].getMessage() == (
        "rate limit: refused 1 posts from 10.0.0.1 in the last 61 s"
    )
    assert refusals.total == 3
