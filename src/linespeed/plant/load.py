"""Load a plant file (contract 1): YAML text to a validated `Plant`, with file:line errors.

Every problem in the file is collected and reported at once, each with the file name, the
1-based line of the offending YAML node and the dotted field path (`lines[0].stations[3].cycle_s`).
Shape and range checks come from the pydantic model; checks across fields (unique ids, BOM
stations, VIN codes, time zone, shift breaks, milestone colour) are made here.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import zoneinfo
from collections.abc import Hashable, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, TypeAlias, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from linespeed.errors import FileProblem, PlantFileError
from linespeed.plant.model import Plant

DEFAULT_PLANT_PATH: Path = Path(__file__).parent / "default.yaml"
"""The bundled default plant: one line of an EV plant near Beijing."""

FieldPath: TypeAlias = tuple[str | int, ...]
"""Where a value sits in the plant file, e.g. ('lines', 0, 'stations', 3, 'cycle_s')."""

_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_VIN_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPRSTUVWXYZ")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_DAY_MIN = 24 * 60
_TYPE_NAMES = {"float_parsing": "a number", "float_type": "a number", "int_type": "a whole number"}
_TYPE_NAMES |= {"int_parsing": "a whole number", "int_from_float": "a whole number"}
_TYPE_NAMES |= {"bool_parsing": "true or false", "bool_type": "true or false"}
_TYPE_NAMES |= {"tuple_type": "a list", "list_type": "a list", "dict_type": "a mapping of fields"}
_TYPE_NAMES |= {"model_type": "a mapping of fields", "model_attributes_type": "a mapping of fields"}


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
    root = _compose(text, source)
    tree = _Tree(source)
    data = tree.convert(root, (), root.start_mark.line + 1)
    problems = list(tree.problems)
    plant: Plant | None = None
    try:
        plant = Plant.model_validate(_as_tuples(data), strict=True)  # strict: "70" is no number
    except ValidationError as error:
        found = [(tuple(detail["loc"]), _describe(detail)) for detail in error.errors()]
        problems += _new(problems, [tree.problem(loc, text) for loc, text in found if text])
    problems += _new(problems, list(_cross_checks(data, tree)))
    if problems or plant is None:
        raise PlantFileError(sorted(problems, key=lambda p: (p.line or 0, p.field)))
    return plant


def _new(known: list[FileProblem], found: list[FileProblem]) -> list[FileProblem]:
    """The problems of `found` at a field that has no problem in `known` yet."""
    reported = {problem.field for problem in known}
    return [problem for problem in found if problem.field not in reported]


def _as_tuples(value: Any) -> Any:
    """`value` with every list made a tuple, as strict validation wants for tuple fields."""
    if isinstance(value, dict):
        return {key: _as_tuples(item) for key, item in value.items()}
    if isinstance(value, list):
        return tuple(_as_tuples(item) for item in value)
    return value


def plant_to_yaml_dict(plant: Plant) -> dict[str, Any]:
    """The plant as plain data ready for `yaml.safe_dump`, leaving out default values."""
    return plant.model_dump(mode="json", exclude_defaults=True)


def _compose(text: str, source: str) -> yaml.Node:
    """Parse YAML text to its root node; raises PlantFileError if it is not one YAML mapping."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        message = f"YAML syntax error: {error.problem or error.context}"
        if error.context and error.context_mark is not None and error.problem:
            message += f" ({error.context} at line {error.context_mark.line + 1})"
        raise PlantFileError([FileProblem(source, line, "", message)]) from None
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        char = error.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        message = f"character {shown} is not allowed in a YAML file"
        raise PlantFileError([FileProblem(source, line, "", message)]) from None
    if root is None:
        message = "the file is empty; a plant file is a mapping with plant, name, timezone, ..."
        raise PlantFileError([FileProblem(source, 1, "", message)])
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else f"{root.value!r}"
        message = f"a plant file must be a mapping (plant: ..., name: ...), not {kind}"
        raise PlantFileError([FileProblem(source, root.start_mark.line + 1, "", message)])
    return root


class _Tree:
    """Converts a YAML node tree to plain Python, keeping the line of every field."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[FieldPath, int] = {}
        self.problems: list[FileProblem] = []
        self._constructor = yaml.constructor.SafeConstructor()
        self._open: set[int] = set()  # nodes being converted: catches aliases that loop

    def line(self, path: FieldPath) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def problem(self, path: FieldPath, message: str) -> FileProblem:
        """A problem at `path`, located at its line."""
        return FileProblem(self.source, self.line(path), _dotted(path), message)

    def convert(self, node: yaml.Node, path: FieldPath, line: int) -> Any:
        """The plain value of `node`, found at `path` on `line`."""
        self.lines.setdefault(path, line)
        if id(node) in self._open:
            self.problems.append(self.problem(path, "an alias refers to a node that contains it"))
            return None
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if node.tag not in _COLLECTION_TAGS:
            self.problems.append(self.problem(path, f"tag {node.tag!r} is not allowed here"))
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            return [
                self.convert(item, (*path, index), item.start_mark.line + 1)
                for index, item in enumerate(node.value)
            ]
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: FieldPath) -> Any:
        if node.tag in _NUMBER_TAGS and ":" in node.value:
            return node.value  # YAML 1.1 reads 07:00 as a base-60 number; we mean a time of day
        try:
            return self._constructor.construct_object(node)
        except yaml.MarkedYAMLError as error:
            self.problems.append(self.problem(path, f"cannot read {node.value!r}: {error.problem}"))
            return node.value

    def _mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
            elif not isinstance(key_node, yaml.ScalarNode):
                message = "a key must be plain text, not a list or mapping"
                self.problems.append(FileProblem(self.source, line, _dotted(path), message))
            elif key_node.value in result:
                key_path = (*path, key_node.value)
                message = (
                    f"duplicate key {key_node.value!r} (first at line {self.lines.get(key_path)})"
                )
                self.problems.append(FileProblem(self.source, line, _dotted(key_path), message))
            else:
                result[key_node.value] = self.convert(value_node, (*path, key_node.value), line)
        for merge in merges:  # `<<: *defaults` fills in the keys not given here
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, yaml.MappingNode) or id(source) in self._open:
                    self.problems.append(self.problem(path, "'<<' must merge another mapping"))
                    continue
                for key, value in self._mapping(source, path).items():
                    result.setdefault(key, value)
        return result


def _dotted(path: FieldPath) -> str:
    """'lines[0].stations[3].cycle_s' for ('lines', 0, 'stations', 3, 'cycle_s')."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def _show(value: Any) -> str:
    """A bad value as a person reads it in a message."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)


def _describe(error: ErrorDetails) -> str | None:
    """A readable message for one pydantic error, or None if it only echoes others."""
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    got = _show(value)
    bounds = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<"}
    bounds |= {"less_than_equal": "<="}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        limit = int(limit) if isinstance(limit, float) and limit.is_integer() else limit
        return f"must be {bounds[kind]} {limit}, got {got}"
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return _unknown_field(tuple(error["loc"]))
    if kind in _TYPE_NAMES:
        return f"must be {_TYPE_NAMES[kind]}, got {got}"
    if kind == "string_type":
        hint = " (put it in quotes)" if isinstance(value, int | float) else ""
        return f"must be text, got {got}{hint}"
    if kind == "string_pattern_mismatch":
        if ":" in ctx["pattern"]:
            return f'must be a time of day "HH:MM" from 00:00 to 23:59, got {got}'
        return f"must be an id of lower-case letters, digits and hyphens, got {got}"
    if kind == "string_too_short":
        return (
            f"must not be empty, got {got}"
            if ctx["min_length"] == 1
            else (f"must have at least {ctx['min_length']} characters, got {got}")
        )
    if kind == "string_too_long":
        return f"must have at most {ctx['max_length']} characters, got {got}"
    if kind == "too_short":
        if isinstance(value, tuple) and len(value) >= ctx["min_length"]:
            return None  # only some items are invalid, and those are reported
        return f"must have at least {ctx['min_length']} item, got none"
    return f"{error['msg'][:1].lower()}{error['msg'][1:]}, got {got}"


def _unknown_field(loc: FieldPath) -> str:
    """'unknown field ...' with the closest allowed name, found by walking the model."""
    model: type[BaseModel] | None = Plant
    for part in loc[:-1]:
        if model is not None and isinstance(part, str):
            field = model.model_fields.get(part)
            model = _nested_model(field.annotation) if field is not None else None
    message = f"unknown field {loc[-1]!r}"
    if model is None:
        return message
    allowed = list(model.model_fields)
    return message + (_close(str(loc[-1]), allowed) or f"; allowed here: {', '.join(allowed)}")


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation like `tuple[Station, ...]`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _nested_model(argument)
        if found is not None:
            return found
    return None


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


def _close(value: str, choices: Iterable[str]) -> str:
    """' (did you mean ...?)' for the closest choice, or ''."""
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _cross_checks(data: dict[str, Any], tree: _Tree) -> Iterator[FileProblem]:
    """Every problem pydantic cannot see: references, uniqueness, VIN codes, time, shifts."""
    yield from _check_lines(data, tree)
    yield from _check_models(data, tree)
    yield from _check_vin(data, tree)
    yield from _check_timezone(data, tree)
    yield from _check_shifts(data, tree)


def _duplicates(
    tree: _Tree, entries: Iterable[tuple[FieldPath, Hashable]], what: str, where: str = ""
) -> Iterator[FileProblem]:
    """A 'duplicate ...' problem for each value already seen, naming the first one's line."""
    first: dict[Hashable, FieldPath] = {}
    for path, value in entries:
        if value in first:
            message = f"duplicate {what} {value!r}{where} (first at line {tree.line(first[value])})"
            yield tree.problem(path, message)
        else:
            first[value] = path


def _check_lines(data: dict[str, Any], tree: _Tree) -> Iterator[FileProblem]:
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


def _finite(tree: _Tree, data: dict[str, Any], path: FieldPath) -> Iterator[FileProblem]:
    """A problem if the number at `path` (a key of `data`) is infinite (YAML `.inf`)."""
    value = data.get(str(path[-1]))
    if isinstance(value, float) and math.isinf(value):
        yield tree.problem(path, f"must be a finite number of seconds, got {value}")


def _check_models(data: dict[str, Any], tree: _Tree) -> Iterator[FileProblem]:
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
                message += _close(station, station_ids)
                yield tree.problem(("models", i, "parts", j, "station"), message)
    also = milestones.get("also") if isinstance(milestones, dict) else None
    if isinstance(also, list):
        counts = [(("milestones", "also", k), n) for k, n in enumerate(also) if isinstance(n, int)]
        yield from _duplicates(tree, counts, "milestone")


def _check_vin(data: dict[str, Any], tree: _Tree) -> Iterator[FileProblem]:
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


def _check_timezone(data: dict[str, Any], tree: _Tree) -> Iterator[FileProblem]:
    """The plant's time zone must be an IANA zone name such as Asia/Shanghai."""
    timezone = _text(data, "timezone")
    if timezone is not None and timezone not in _iana_zones():
        hint = _close(timezone, _iana_zones()) or " such as 'Asia/Shanghai'"
        yield tree.problem(("timezone",), f"{timezone!r} is not an IANA time zone{hint}")


def _minutes(value: Any) -> int | None:
    """Minutes after midnight of an "HH:MM" text, or None if it is not one."""
    match = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    return int(match[1]) * 60 + int(match[2]) if match else None


def _check_shifts(data: dict[str, Any], tree: _Tree) -> Iterator[FileProblem]:
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
