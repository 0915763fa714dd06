"""The library's choices and defaults that command signatures show, copied.

Typer reads a command's signature to build `--help`; with these copies the command modules
load no library until a command runs. tests/cli/test_startup.py checks every copy against
the library's value, so they cannot drift apart.
"""

from __future__ import annotations

from typing import Final, Literal

Tracking = Literal["stations", "units"]
"""`linespeed.plant.model.Tracking`: what a line reports, every station or units only."""
GroupBy = Literal["day", "shift", "station", "model", "color"]
"""`linespeed.kpi.report.GroupBy`: how `kpi --by` groups counts and rates."""
StatusFilter = Literal["in-plant", "completed", "shipped"]
"""`linespeed.trace.recall.StatusFilter`: the cars a recall lists."""
Detail = Literal["full", "units"]
"""`linespeed.sim.emit.Detail`: every event a line sends, or units only."""
LogFormat = Literal["text", "json"]
"""`linespeed.logs.LogFormat`: log lines for people, or one JSON object per line."""

DEFAULT_BATCH_SIZE: Final = 5_000
"""`linespeed.ingest.core.DEFAULT_BATCH_SIZE`: events per transaction."""
DEFAULT_MAX_FUTURE_S: Final = 600.0
"""`linespeed.ingest.core.LiveWindow.max_future_s`: how far ahead live events may be."""
DEFAULT_MAX_PAYLOAD_BYTES: Final = 1 << 20
"""`linespeed.bridges.mqtt_messages.DEFAULT_MAX_PAYLOAD_BYTES`: the largest MQTT message."""
DEFAULT_RECEIVE_MAXIMUM: Final = 20_000
"""`linespeed.bridges.mqtt.DEFAULT_RECEIVE_MAXIMUM`: MQTT messages in flight."""
DEFAULT_ACK_WAIT_S: Final = 30.0
"""`linespeed.bridges.nats.DEFAULT_ACK_WAIT_S`: seconds before JetStream delivers again."""
DEFAULT_DUPLICATE_WINDOW_S: Final = 600.0
"""`linespeed.natsio.streams.DEFAULT_DUPLICATE_WINDOW_S`: how long message ids are remembered."""
