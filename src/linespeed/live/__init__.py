"""Live news since a sequence number (completions, station states, milestones) for SSE, MQTT
and NATS alike, read from the event log by one shared poller, and the line's board.

- `feed`: `FeedMessage`, `feed_after` (the messages after a sequence number), `last_seq`.
- `milestones`: `MilestoneNews`, the one milestone payload (SSE `milestone`, MQTT
  `.../milestones`), `milestone_news`, and `MilestoneWatch` (milestones since it last looked).
- `board`: `line_board`, what the line's screen shows (`GET /api/v1/board`, `linespeed board`),
  with `latest_station_states` (one statement for every station).
- `sse`: messages framed as server-sent events, encoded once per stretch of the log.
- `poller`: `FeedPoller`, one per server: polls only while a stream is open and only reads
  news when `max(seq)` moved, fans it out to bounded queues, caps streams per token and in
  total, bounds replays (`REPLAY_EVENTS`), ends streams of revoked tokens (asking
  `linespeed.access.tokens.active_token_ids`).
- `replay`: replays read in windows of the log that every resuming stream shares.
- `subscription`: one open stream: hello, reset, replay, then the poller's news.
- `errors`: `TooManyStreamsError` (`stream.too_many`).
"""

from linespeed.live.errors import TooManyStreamsError
from linespeed.live.feed import FeedMessage, feed_after, last_seq
from linespeed.live.poller import REPLAY_EVENTS, FeedPoller, StreamSettings
from linespeed.live.subscription import Subscription

__all__ = [
    "REPLAY_EVENTS",
    "FeedMessage",
    "FeedPoller",
    "StreamSettings",
    "Subscription",
    "TooManyStreamsError",
    "feed_after",
    "last_seq",
]
