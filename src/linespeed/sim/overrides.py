"""`--set PATH=VALUE`: change one value of a scenario's YAML data before it is validated.

A path spells a value as the scenario file does: mapping keys joined by dots, list items
by `[i]` (from 0): `failures.stations.ga-140.mtbf_h`, `shift_pattern[1].from`,
`supply.parts.BAT-1001.capacity[0].per_week`. Every key and index of the path must be in
the file already (an override changes a value, it does not add one); a key may hold dots
only if it is written in the file that way, which scenario keys never are. VALUE is read
as a YAML scalar or flow value (`50`, `2024-04-01`, `unlimited`, `[A, B]`), so the
scenario's own validation then reports a value of the wrong type as it would in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from linespeed.sim.errors import SimInputError
from linespeed.yamlfile import YamlTree, did_you_mean

_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class Override:
    """One `PATH=VALUE`: the path as keys and indexes, and the value read as YAML."""

    text: str
    path: tuple[str | int, ...]
    value: Any


def parse_override(text: str) -> Override:
    """Read `PATH=VALUE`. Raises SimInputError (parameter `set`) if it is malformed."""
    path_text, equals, value_text = text.partition("=")
    path_text = path_text.strip()
    if not equals or not path_text:
        raise SimInputError(
            f"{text!r} is not PATH=VALUE (e.g. failures.stations.ga-140.mtbf_h=50)",
            parameter="set",
            value=text,
        )
    path = parse_path(path_text, text)
    try:
        node = yaml.compose(value_text.strip() or "null")
    except yaml.YAMLError as error:
        raise SimInputError(
            f"{text!r}: cannot read the value {value_text!r} as YAML: {error}",
            parameter="set",
            value=text,
        ) from None
    tree = YamlTree("--set")
    value = tree.convert(node, (), 0) if node is not None else None
    if tree.problems:
        raise SimInputError(f"{text!r}: {tree.problems[0].message}", parameter="set", value=text)
    return Override(text, path, value)


def parse_path(path_text: str, text: str | None = None) -> tuple[str | int, ...]:
    """The keys and indexes of a path (`failures.stations.ga-140.mtbf_h`, `ramp[1].jph`).

    Raises SimInputError (parameter `set`) naming `text` (default: the path) if it cannot
    be read.
    """
    path: list[str | int] = []
    position = 0
    while position < len(path_text):
        match = _STEP.match(path_text, position)
        if match is None or (position == 0 and path_text.startswith((".", "["))):
            raise SimInputError(
                f"{text or path_text!r}: cannot read the path {path_text!r} at character "
                f"{position + 1} (keys joined by dots, list items as [i])",
                parameter="set",
                value=text or path_text,
            )
        key, index = match.groups()
        path.append(int(index) if index is not None else key)
        position = match.end()
    if not path:
        raise SimInputError("an empty path names no value", parameter="set", value=text)
    return tuple(path)


def apply_overrides(data: Any, overrides: Iterable[Override]) -> Any:
    """`data` (plain YAML data, changed in place) with every override set, in order.

    Raises SimInputError (parameter `set`) naming the path and the nearest known key if a
    key or index of a path is not in the data.
    """
    for override in overrides:
        parent = data
        for depth, step in enumerate(override.path):
            where = _spelled(override.path[:depth]) or "the top level"
            last = depth == len(override.path) - 1
            if isinstance(step, int):
                if not isinstance(parent, list):
                    raise _unknown(override, f"{where} is not a list")
                if step >= len(parent):
                    raise _unknown(
                        override, f"{where} has {len(parent)} items ([0] to [{len(parent) - 1}])"
                    )
            else:
                if not isinstance(parent, dict):
                    raise _unknown(override, f"{where} is not a mapping")
                if step not in parent:
                    raise _unknown(
                        override,
                        f"{where} has no key {step!r}" + did_you_mean(step, map(str, parent)),
                    )
            if last:
                parent[step] = override.value
            else:
                parent = parent[step]
    return data


def _unknown(override: Override, reason: str) -> SimInputError:
    return SimInputError(
        f"--set {override.text}: unknown path {_spelled(override.path)}: {reason}",
        parameter="set",
        value=override.text,
    )


def _spelled(path: tuple[str | int, ...]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text
