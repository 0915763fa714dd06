"""Load a plant file (contract 1): YAML text to a validated `Plant`, with file:line errors.

Every problem in the file is collected and reported at once, each with the file name, the
1-based line of the offending YAML node and the dotted field path (`lines[0].stations[3].cycle_s`).
Shape and range checks come from the pydantic model; checks across fields (unique ids, BOM
stations, VIN codes, time zone, shift breaks, milestone colour) are made here.
"""

from __future__ import annotations

import math
import os
import re
import zoneinfo
from collections.abc import Hashable, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from linespeed.errors import FileProblem, PlantFileError
from linespeed.plant.model import Plant
from linespeed.yamlfile import FieldPath, YamlTree, did_you_mean, load_model

_VIN_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPRSTUVWXYZ")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_DAY_MIN = 24 * 60

DEFAULT_PLANT_PATH: Path = Path(__file__).parent / "default.yaml"
"""The bundled default plant: one line of an EV plant near Beijing."""


def load_plant(path: str | os.PathLike[str]) -> Plant:
    """Read and validate the plant file at `path`.

    Raises PlantFileError if the file is missing or unreadable, is not valid YAML (the problem
    names the line), or breaks the plant contract in any way (every problem is listed).
    """
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PlantFileError([FileProblem(file, None, "", "no such file")]) from None
    except UnicodeDecodeError as error:
        message = (
            f"is not UTF-8 text (byte {error.object[error.start]:#04x} at offset {error.start})"
        )
        raise PlantFileError([FileProblem(file, None, "", message)]) from None
    except OSError as error:
        message = f"cannot be read: {error.strerror or error}"
        raise PlantFileError([FileProblem(file, None, "", message)]) from None
    return parse_plant(text, file)


def parse_plant(text: str, source: str) -> Plant:
    """Validate plant YAML `text`; `source` is the file name used in error messages.

    Raises PlantFileError listing every problem found (not just the first), each a FileProblem
    with the file, the 1-based line of the offending node, the dotted field path and a message
    that names the bad value. An empty file, a file that is not a mapping and a YAML syntax
    error each give one problem.
    """
    return load_model(text, source, Plant, _cross_checks)


def plant_to_yaml_dict(plant: Plant) -> dict[str, Any]:
    """The plant as plain data ready for `yaml.safe_dump`, leaving out default values; dates
    stay dates, so the file reads back as the same plant."""
    data = plant.model_dump(mode="python", exclude_defaults=True)
    return {key: _plain(value) for key, value in data.items()}


def _plain(value: Any) -> Any:
    """Tuples as lists, all the way down (safe_dump writes no tuples)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _items(data: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    """The mappings in the list `data[key]`, with their index; others are skipped."""
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list):
        return []
    return [(index, item) for index, item in enumerate(value) if isinstance(item, dict)]


def _text(data: Any, key: str) -> str | None:
    """`data[key]` stripped, if it is text."""
    value = data.get(key) if isinstance(data, dict) else None
    return value.strip() if isinstance(value, str) else None


def _texts(data: Any, key: str, field: str | None = None) -> list[tuple[int, str]]:
    """The text items of the list `data[key]` (or their `field`), stripped, with their index."""
    value = data.get(key) if isinstance(data, dict) else None
    items = list(enumerate(value)) if isinstance(value, list) else []
    if field is not None:
        items = [(index, item.get(field)) for index, item in items if isinstance(item, dict)]
    return [(index, item.strip()) for index, item in items if isinstance(item, str)]


def _cross_checks(data: dict[str, Any], tree: YamlTree) -> Iterator[FileProblem]:
    """Every problem pydantic cannot see: references, uniqueness, VIN codes, time, shifts."""
    yield from _check_lines(data, tree)
    yield from _check_models(data, tree)
    yield from _check_vin(data, tree)
    yield from _check_timezone(data, tree)
    yield from _check_shifts(data, tree)


def _duplicates(
    tree: YamlTree, entries: Iterable[tuple[FieldPath, Hashable]], what: str, where: str = ""
) -> Iterator[FileProblem]:
    """A 'duplicate ...' problem for each value already seen, naming the first one's line."""
    first: dict[Hashable, FieldPath] = {}
    for path, value in entries:
        if value in first:
            message = f"duplicate {what} {value!r}{where} (first at line {tree.line(first[value])})"
            yield tree.problem(path, message)
        else:
            first[value] = path


def _check_lines(data: dict[str, Any], tree: YamlTree) -> Iterator[FileProblem]:
    """Unique line and station ids (stations across the plant), checks, finite times."""
    yield from _duplicates(
        tree, [(("lines", i, "id"), v) for i, v in _texts(data, "lines", "id")], "line id"
    )
    station_ids: list[tuple[FieldPath, str]] = []
    for i, line in _items(data, "lines"):
        yield from _finite(tree, line, ("lines", i, "takt_s"))
        station_ids += [
            (("lines", i, "stations", j, "id"), v) for j, v in _texts(line, "stations", "id")
        ]
        stations = _items(line, "stations")
        for j, station in stations:
            path: FieldPath = ("lines", i, "stations", j)
            checks = [((*path, "checks", k), check) for k, check in _texts(station, "checks")]
            yield from _duplicates(tree, checks, "check", f" at station {_text(station, 'id')!r}")
            yield from _finite(tree, station, (*path, "cycle_s"))
        if stations and all(station.get("optional") is True for _, station in stations):
            message = f"every station of line {_text(line, 'id')!r} is optional; make one required"
            yield tree.problem(("lines", i, "stations"), message)
    yield from _duplicates(tree, station_ids, "station id", " in the plant")


def _finite(tree: YamlTree, data: dict[str, Any], path: FieldPath) -> Iterator[FileProblem]:
    """A problem if the number at `path` (a key of `data`) is infinite (YAML `.inf`)."""
    value = data.get(str(path[-1]))
    if isinstance(value, float) and math.isinf(value):
        yield tree.problem(path, f"must be a finite number of seconds, got {value}")


def _check_models(data: dict[str, Any], tree: YamlTree) -> Iterator[FileProblem]:
    """Model ids, colours, BOM parts and their stations, the milestone colour and counts."""
    yield from _duplicates(
        tree, [(("models", i, "id"), v) for i, v in _texts(data, "models", "id")], "model id"
    )
    station_ids = {
        v for _, line in _items(data, "lines") for _, v in _texts(line, "stations", "id")
    }
    milestones = data.get("milestones")
    milestone_color = _text(milestones, "color")
    for i, model in _items(data, "models"):
        name = _text(model, "id")
        colors = [(("models", i, "colors", k), color) for k, color in _texts(model, "colors")]
        yield from _duplicates(tree, colors, "colour", f" in model {name!r}")
        if milestone_color and colors and milestone_color not in {color for _, color in colors}:
            message = (
                f"model {name!r} has no colour {milestone_color!r}, the milestone colour "
                "(milestones.color); add it to its colours"
            )
            yield tree.problem(("models", i, "colors"), message)
        parts = [(("models", i, "parts", j, "part"), v) for j, v in _texts(model, "parts", "part")]
        yield from _duplicates(tree, parts, "part", f" in the BOM of model {name!r}")
        for j, station in _texts(model, "parts", "station"):
            if station_ids and station not in station_ids:
                message = f"station {station!r} is not a station of any line"
                message += did_you_mean(station, station_ids)
                yield tree.problem(("models", i, "parts", j, "station"), message)
        yield from _check_serialized(model, tree, ("models", i, "parts"))
    also = milestones.get("also") if isinstance(milestones, dict) else None
    if isinstance(also, list):
        counts = [(("milestones", "also", k), n) for k, n in enumerate(also) if isinstance(n, int)]
        yield from _duplicates(tree, counts, "milestone")


def _check_serialized(
    model: dict[str, Any], tree: YamlTree, path: FieldPath
) -> Iterator[FileProblem]:
    """A serialized BOM line has one serial per piece: `qty` 1, installed (not backflushed)."""
    for j, bom_part in _items(model, "parts"):
        if bom_part.get("serialized") is not True:
            continue
        part = _text(bom_part, "part")
        qty = bom_part.get("qty")
        if isinstance(qty, int) and not isinstance(qty, bool) and qty != 1:
            message = (
                f"part {part!r} is serialized: qty must be 1 (one serial per piece), got {qty}; "
                "list each piece as its own BOM line or make the part lot-tracked"
            )
            yield tree.problem((*path, j, "qty"), message)
        if bom_part.get("backflush") is True:
            message = (
                f"part {part!r} is serialized: it is installed with its serial "
                "(part.installed), so it cannot be backflushed"
            )
            yield tree.problem((*path, j, "backflush"), message)


def _check_vin(data: dict[str, Any], tree: YamlTree) -> Iterator[FileProblem]:
    """VIN codes: wmi (3), plant_code (1) and each model's vds (5), in the VIN alphabet."""
    codes: list[tuple[FieldPath, str | None, int]] = [
        (("vin", "wmi"), _text(data.get("vin"), "wmi"), 3),
        (("vin", "plant_code"), _text(data.get("vin"), "plant_code"), 1),
    ]
    vds: list[tuple[FieldPath, str]] = [
        (("models", i, "vds"), v) for i, v in _texts(data, "models", "vds")
    ]
    for path, code, length in [*codes, *((path, code, 5) for path, code in vds)]:
        message = _vin_code_problem(str(path[-1]), code, length) if code is not None else None
        if message is not None:
            yield tree.problem(path, message)
    yield from _duplicates(tree, vds, "vds", " (each model needs its own)")


def _vin_code_problem(name: str, code: str, length: int) -> str | None:
    """What is wrong with a VIN code of `length` characters, or None if nothing is."""
    if len(code) != length:
        return f"{name} {code!r} must be exactly {length} characters, got {len(code)}"
    for position, char in enumerate(code, start=1):
        if char not in _VIN_ALPHABET and char.upper() in _VIN_ALPHABET:
            return (
                f"{name} {code!r} has lower-case {char!r} at position {position}; VINs use capitals"
            )
        if char not in _VIN_ALPHABET:
            return (
                f"{name} {code!r} has {char!r} at position {position}; a VIN holds only digits "
                "and capital letters other than I, O and Q"
            )
    return None


@cache
def _iana_zones() -> frozenset[str]:
    """Every IANA time zone name this machine knows (tzdata)."""
    return frozenset(zoneinfo.available_timezones())


def _check_timezone(data: dict[str, Any], tree: YamlTree) -> Iterator[FileProblem]:
    """The plant's time zone must be an IANA zone name such as Asia/Shanghai."""
    timezone = _text(data, "timezone")
    if timezone is not None and timezone not in _iana_zones():
        hint = did_you_mean(timezone, _iana_zones()) or " such as 'Asia/Shanghai'"
        yield tree.problem(("timezone",), f"{timezone!r} is not an IANA time zone{hint}")


def _minutes(value: Any) -> int | None:
    """Minutes after midnight of an "HH:MM" text, or None if it is not one."""
    match = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    return int(match[1]) * 60 + int(match[2]) if match else None


def _check_shifts(data: dict[str, Any], tree: YamlTree) -> Iterator[FileProblem]:
    """Shifts have a length; breaks lie inside their shift and do not overlap.

    A shift (or break) whose end is before its start ends the next day.
    """
    names = [(("shifts", i, "name"), v) for i, v in _texts(data, "shifts", "name")]
    yield from _duplicates(tree, names, "shift name")
    for i, shift in _items(data, "shifts"):
        start, end = _minutes(shift.get("start")), _minutes(shift.get("end"))
        if start is None or end is None:
            continue
        name, span = _text(shift, "name"), f"{shift['start']}-{shift['end']}"
        length = (end - start) % _DAY_MIN
        if length == 0:
            yield tree.problem(("shifts", i, "end"), f"shift {name!r} ({span}) has zero length")
            continue
        inside: list[tuple[int, int, int, str]] = []  # offset into the shift, length, index, text
        for j, brk in _items(shift, "breaks"):
            brk_start, brk_end = _minutes(brk.get("start")), _minutes(brk.get("end"))
            if brk_start is None or brk_end is None:
                continue
            text = f"{brk['start']}-{brk['end']}"
            offset, brk_length = (brk_start - start) % _DAY_MIN, (brk_end - brk_start) % _DAY_MIN
            if brk_length == 0:
                yield tree.problem(("shifts", i, "breaks", j), f"break {text} has zero length")
            elif offset + brk_length > length:
                message = f"break {text} is not within shift {name!r} ({span})"
                yield tree.problem(("shifts", i, "breaks", j), message)
            else:
                inside.append((offset, brk_length, j, text))
        reach, latest = 0, ""  # where the breaks so far end, and the break that ends there
        for offset, brk_length, j, text in sorted(inside):
            if offset < reach:
                yield tree.problem(("shifts", i, "breaks", j), f"break {text} overlaps {latest}")
            if offset + brk_length > reach:
                reach, latest = offset + brk_length, f"break {text}"
