"""YAML files with file:line errors: parse keeping each field's line, validate with pydantic.

Used by the plant and scenario loaders so that every problem names its file, line and field.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeAlias, TypeVar, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from linespeed.errors import FileProblem, PlantFileError

FieldPath: TypeAlias = tuple[str | int, ...]
"""Where a value sits in the file, e.g. ('lines', 0, 'stations', 3, 'cycle_s')."""


ModelT = TypeVar("ModelT", bound=BaseModel)
CrossChecks: TypeAlias = Callable[[dict[str, Any], "YamlTree"], Iterator[FileProblem]]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_TYPE_NAMES = {"float_parsing": "a number", "float_type": "a number", "int_type": "a whole number"}
_TYPE_NAMES |= {"int_parsing": "a whole number", "int_from_float": "a whole number"}
_TYPE_NAMES |= {"bool_parsing": "true or false", "bool_type": "true or false"}
_TYPE_NAMES |= {"tuple_type": "a list", "list_type": "a list", "dict_type": "a mapping of fields"}
_TYPE_NAMES |= {"model_type": "a mapping of fields", "model_attributes_type": "a mapping of fields"}


def new_problems(known: list[FileProblem], found: list[FileProblem]) -> list[FileProblem]:
    """The problems of `found` at a field that has no problem in `known` yet."""
    reported = {problem.field for problem in known}
    return [problem for problem in found if problem.field not in reported]


def as_tuples(value: Any) -> Any:
    """`value` with every list made a tuple, as strict validation wants for tuple fields."""
    if isinstance(value, dict):
        return {key: as_tuples(item) for key, item in value.items()}
    if isinstance(value, list):
        return tuple(as_tuples(item) for item in value)
    return value


def compose_mapping(
    text: str, source: str, error_type: type[PlantFileError] = PlantFileError, what: str = "plant"
) -> yaml.MappingNode:
    """Parse YAML text to its root mapping node.

    Raises `error_type` (a PlantFileError class) with one problem if the text is not valid YAML,
    is empty or is not a mapping; `what` names the kind of file in the message.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        message = f"YAML syntax error: {error.problem or error.context}"
        if error.context and error.context_mark is not None and error.problem:
            message += f" ({error.context} at line {error.context_mark.line + 1})"
        raise error_type([FileProblem(source, line, "", message)]) from None
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        char = error.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        message = f"character {shown} is not allowed in a YAML file"
        raise error_type([FileProblem(source, line, "", message)]) from None
    if root is None:
        message = f"the file is empty; a {what} file is a mapping of fields"
        raise error_type([FileProblem(source, 1, "", message)])
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else f"{root.value!r}"
        message = f"a {what} file must be a mapping of fields (name: value), not {kind}"
        raise error_type([FileProblem(source, root.start_mark.line + 1, "", message)])
    return root


class YamlTree:
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
        return FileProblem(self.source, self.line(path), dotted(path), message)

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
                self.problems.append(FileProblem(self.source, line, dotted(path), message))
            elif key_node.value in result:
                key_path = (*path, key_node.value)
                message = (
                    f"duplicate key {key_node.value!r} (first at line {self.lines.get(key_path)})"
                )
                self.problems.append(FileProblem(self.source, line, dotted(key_path), message))
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


def dotted(path: FieldPath) -> str:
    """'lines[0].stations[3].cycle_s' for ('lines', 0, 'stations', 3, 'cycle_s')."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def show(value: Any) -> str:
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


def describe(error: ErrorDetails, root: type[BaseModel]) -> str | None:
    """A readable message for one pydantic error, or None if it only echoes others."""
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    got = show(value)
    bounds = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<"}
    bounds |= {"less_than_equal": "<="}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        limit = int(limit) if isinstance(limit, float) and limit.is_integer() else limit
        return f"must be {bounds[kind]} {limit}, got {got}"
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return _unknown_field(tuple(error["loc"]), root)
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


def _unknown_field(loc: FieldPath, root: type[BaseModel]) -> str:
    """'unknown field ...' with the closest allowed name, found by walking the model."""
    model: type[BaseModel] | None = root
    for part in loc[:-1]:
        if model is not None and isinstance(part, str):
            field = model.model_fields.get(part)
            model = _nested_model(field.annotation) if field is not None else None
    message = f"unknown field {loc[-1]!r}"
    if model is None:
        return message
    allowed = list(model.model_fields)
    return message + (
        did_you_mean(str(loc[-1]), allowed) or f"; allowed here: {', '.join(allowed)}"
    )


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation like `tuple[Station, ...]`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _nested_model(argument)
        if found is not None:
            return found
    return None


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """' (did you mean ...?)' for the closest choice, or ''."""
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_model(
    text: str,
    source: str,
    model: type[ModelT],
    cross_checks: CrossChecks,
    *,
    error: type[PlantFileError] = PlantFileError,
    what: str = "plant",
    prepare: Callable[[Any], Any] | None = None,
) -> ModelT:
    """Validate YAML `text` from `source` as `model`, then run `cross_checks` on the data.

    `prepare`, if given, receives the plain data before validation and returns what to
    validate (the scenario's `--set` overrides); its exceptions propagate.

    Raises `error` listing every problem found, each with file, line, field and message.
    """
    root = compose_mapping(text, source, error, what)
    tree = YamlTree(source)
    data = tree.convert(root, (), root.start_mark.line + 1)
    if prepare is not None:
        data = prepare(data)
    problems = list(tree.problems)
    result: ModelT | None = None
    try:
        result = model.model_validate(as_tuples(data), strict=True)  # strict: "70" is no number
    except ValidationError as failure:
        found = [(tuple(detail["loc"]), describe(detail, model)) for detail in failure.errors()]
        problems += new_problems(problems, [tree.problem(loc, text) for loc, text in found if text])
    if isinstance(data, dict):
        problems += new_problems(problems, list(cross_checks(data, tree)))
    if problems or result is None:
        raise error(sorted(problems, key=lambda p: (p.line or 0, p.field)))
    return result
