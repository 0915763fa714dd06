"""The `linespeed` command starts at once: it loads what a command needs when that one runs.

Each check runs the command in a fresh interpreter and lists the heavy libraries it loaded;
the help of every command is the same whether the whole app or only that command is built.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, get_args

import pytest
from typer.testing import CliRunner

from linespeed import cli
from linespeed.cli import choices
from linespeed.plant.load import DEFAULT_PLANT_PATH
from linespeed.plant.model import Plant
from linespeed.plant.vin import nth_vin

HEAVY = ("numpy", "numba", "scipy", "matplotlib", "fastapi", "pandas", "uvicorn", "alembic")
"""Libraries no command start-up loads: the simulator's, the plots', the server's."""
STORE = ("sqlalchemy", "psycopg", *HEAVY)
"""What a command that reads no store does not load either."""

PROBE = """
import json, sys
from linespeed.cli import main
names = json.loads(sys.argv[2])
sys.argv = ["linespeed", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(name for name in names if name in sys.modules)))
"""


def loaded_by(args: list[str], names: tuple[str, ...]) -> list[str]:
    """Which of `names` a fresh `linespeed ARGS` has loaded when it is done."""
    finished = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(names)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded: list[str] = json.loads(finished.stdout.splitlines()[-1])
    return loaded


def test_importing_the_cli_loads_no_heavy_library() -> None:
    probe = "import json, sys, linespeed.cli; print(json.dumps(sorted(sys.modules)))"
    finished = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    modules = set(json.loads(finished.stdout))
    assert [name for name in STORE if name in modules] == []


def test_help_loads_no_store_and_no_heavy_library() -> None:
    assert loaded_by(["--help"], STORE) == []


def test_vin_check_loads_no_store(plant: Plant) -> None:
    assert loaded_by(["vin", "check", nth_vin(plant, plant.models[0].id, 1)], STORE) == []


def test_plant_check_loads_no_store() -> None:
    assert loaded_by(["plant", "check", str(DEFAULT_PLANT_PATH)], STORE) == []


def test_reading_the_store_loads_no_heavy_library(engine: Any, db_url: str, plant: Plant) -> None:
    vin = nth_vin(plant, plant.models[0].id, 1)
    for args in (["unit", vin], ["trace", "vin", vin]):
        assert loaded_by([*args, "--db", db_url], HEAVY) == [], args


def _help_of_whole_app(args: list[str]) -> str:
    result = CliRunner().invoke(cli.app, args, env={"COLUMNS": "100"}, prog_name="linespeed")
    return result.output


def _commands() -> list[str]:
    named = [
        command.name or command.callback.__name__.replace("_", "-")
        for command in cli.app.registered_commands
        if command.callback is not None
    ]
    return named + [group.name for group in cli.app.registered_groups if group.name]


@pytest.mark.parametrize("command", _commands())
def test_a_command_built_alone_has_the_help_of_the_whole_app(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setattr(sys, "argv", ["linespeed", command, "--help"])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 0
    assert capsys.readouterr().out == _help_of_whole_app([command, "--help"])


def test_a_command_built_alone_is_only_that_command() -> None:
    assert [group.name for group in cli.command_app(["vin", "check"]).registered_groups] == ["vin"]
    assert cli.command_app(["unit", "VIN"]).registered_commands[0].callback is cli.unit.unit
    assert cli.command_app(["no-such-command"]) is cli.app
    assert cli.command_app([]) is cli.app


def test_the_copied_choices_and_defaults_are_the_librarys() -> None:
    from linespeed.bridges.mqtt import DEFAULT_RECEIVE_MAXIMUM
    from linespeed.bridges.mqtt_messages import DEFAULT_MAX_PAYLOAD_BYTES
    from linespeed.ingest.core import DEFAULT_BATCH_SIZE, LiveWindow
    from linespeed.kpi.report import GroupBy
    from linespeed.logs import LogFormat
    from linespeed.plant.model import Tracking
    from linespeed.sim.emit import Detail
    from linespeed.trace.recall import StatusFilter

    assert get_args(choices.Tracking) == get_args(Tracking)
    assert get_args(choices.GroupBy) == get_args(GroupBy)
    assert get_args(choices.StatusFilter) == get_args(StatusFilter)
    assert get_args(choices.Detail) == get_args(Detail)
    assert get_args(choices.LogFormat) == get_args(LogFormat)
    assert choices.DEFAULT_BATCH_SIZE == DEFAULT_BATCH_SIZE
    assert LiveWindow.max_future_s == choices.DEFAULT_MAX_FUTURE_S
    assert choices.DEFAULT_MAX_PAYLOAD_BYTES == DEFAULT_MAX_PAYLOAD_BYTES
    assert choices.DEFAULT_RECEIVE_MAXIMUM == DEFAULT_RECEIVE_MAXIMUM
