"""`deadletters retry` reports the letters it skips by their source: an MQTT message refused
for its topic is an MQTT message, not a CSV row."""

from __future__ import annotations

import msgspec
import pytest
from sqlalchemy import Engine

from linespeed.bridges.mqtt_messages import message_events
from linespeed.ingest.core import Ingestor, RawEvent
from linespeed.ingest.retry import retry_dead_letters, source_kind
from linespeed.mqtt.topics import events_topic, parse_events_topic
from linespeed.natsio.subjects import events_subject
from linespeed.plant.model import Plant
from linespeed.store.deadletters import list_dead_letters
from tests.conftest import Result, cli_runner, make_store
from tests.ingest.line import event


def _mqtt_letter(engine: Engine, plant: Plant) -> str:
    """A message on ga-090's topic naming station ga-100: refused (`topic.mismatch`)."""
    line = plant.lines[0].id
    topic = events_topic(plant.plant, line, "ga-090")
    where = parse_events_topic(topic)
    assert where is not None
    body = msgspec.json.encode(event("station.state", station="ga-100", state="down"))
    Ingestor(engine).ingest(message_events(body, topic, where, plant.plant))
    return topic


def _csv_letter(engine: Engine) -> None:
    """A CSV row of line2.csv that does not fit its header (`csv.row`)."""
    refused = RawEvent(b"a,b", "line2.csv:7", refusal=("csv.row", "2 cells for 5 columns"))
    Ingestor(engine).ingest([refused])


def test_sources_are_told_apart(plant: Plant) -> None:
    line = plant.lines[0].id
    assert source_kind(events_topic(plant.plant, line, "ga-090")) == "mqtt"
    assert source_kind(events_topic(plant.plant, line, None) + "[3]") == "mqtt"
    assert source_kind(events_subject(plant.plant, line, "ga-090")) == "nats"
    assert source_kind("api:token-3:0123456789ab:2") == "api"
    assert source_kind("line2.csv:7") == "file"
    assert source_kind("/data/linespeed/v1.csv:7") == "file"


def test_a_skipped_mqtt_letter_is_reported_as_an_mqtt_message(
    memory_engine: Engine, plant: Plant
) -> None:
    topic = _mqtt_letter(memory_engine, plant)
    [letter] = list_dead_letters(memory_engine)
    assert (letter.source, letter.reason) == (topic, "topic.mismatch")
    report = retry_dead_letters(Ingestor(memory_engine))
    assert (report.retried, report.skipped) == (0, 1)
    assert report.skipped_by_source == {"mqtt": 1}
    assert report.skipped_text() == "1 MQTT message (correct and publish again)"
    assert "CSV" not in report.skipped_text()


def test_skipped_letters_of_a_file_and_of_mqtt_are_each_named(
    memory_engine: Engine, plant: Plant
) -> None:
    _mqtt_letter(memory_engine, plant)
    _csv_letter(memory_engine)
    _csv_letter(memory_engine)  # the same row again: still one letter
    Ingestor(memory_engine).ingest([RawEvent(b"x,y,z", "line2.csv:9", refusal=("csv.row", "3"))])
    report = retry_dead_letters(Ingestor(memory_engine))
    assert report.skipped_by_source == {"file": 2, "mqtt": 1}
    assert report.as_dict() == {
        "retried": 0,
        "skipped": 3,
        "accepted": 0,
        "duplicates": 0,
        "rejected": 0,
        "reasons": {},
    }
    assert report.skipped_text() == (
        "2 CSV rows (fix the file, ingest it again), 1 MQTT message (correct and publish again)"
    )


def test_the_retry_command_words_each_source(
    db_url: str,
    plant: Plant,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = make_store(db_url, plant)
    _mqtt_letter(engine, plant)
    _csv_letter(engine)
    engine.dispose()
    run = cli_runner(capsys, monkeypatch)
    done: Result = run("deadletters", "retry", "--db", db_url)
    assert done.exit_code == 0, done.stderr
    assert done.stdout.strip() == (
        "retried 0: accepted 0, duplicates 0, still refused 0; skipped "
        "1 CSV row (fix the file, ingest it again), 1 MQTT message (correct and publish again)"
    )
    answer = run("deadletters", "--json", "retry", "--db", db_url).json()
    assert (answer["retried"], answer["skipped"]) == (0, 2)
