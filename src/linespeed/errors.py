"""The one exception family: every error linespeed raises for people to read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Self


class LinespeedError(Exception):
    """Base of every linespeed error: a stable `code` and a `message` for people.

    The CLI prints `message` and exits 1; the API answers 4xx with
    `{"error": code, "detail": message}`.
    """

    code = "linespeed.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


Wording = Callable[[Callable[[str], str]], str]
"""A message written with a function that spells parameter names: `lambda n: f"{n('to')} ..."`."""


class InputError(LinespeedError):
    """Bad input to a library function: names the `parameter` and its `value`.

    Each area subclasses it with its own stable `code` (`kpi.input`, `trace.input`, ...).
    The message names parameters as the library spells them (`since`, `from`, `lot`). A
    message given as a Wording can be spelled again by a face with other names for them:
    the CLI reports `named({"from": "--from"})`.
    """

    code = "input.invalid"

    def __init__(self, message: str | Wording, *, parameter: str, value: object = None) -> None:
        self._wording = message if callable(message) else None
        super().__init__(message(str) if callable(message) else message)
        self.parameter = parameter
        self.value = value

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(parameter={self.parameter!r}, value={self.value!r},"
            f" message={self.message!r})"
        )

    def named(self, names: Mapping[str, str]) -> Self:
        """This error with its message's parameters spelled as `names` says (others as they are).

        A message given as plain text names no parameter to spell and stays as it is.
        Subclasses keep this constructor's signature, so the copy is of the same class.
        """
        if self._wording is None:
            return self
        wording = self._wording
        return type(self)(
            lambda spell: wording(lambda name: spell(names.get(name, name))),
            parameter=self.parameter,
            value=self.value,
        )


@dataclass(frozen=True)
class FileProblem:
    """One problem found in a file: where it is and what is wrong."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class PlantFileError(LinespeedError):
    """A plant file is unreadable or breaks the plant contract; lists every problem found."""

    code = "plant.invalid"

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class ScenarioFileError(PlantFileError):
    """A scenario file is unreadable or invalid."""

    code = "scenario.invalid"


class VinError(LinespeedError):
    """A VIN is malformed or does not fit the plant."""

    code = "vin.invalid"

    def __init__(self, vin: str, message: str, *, code: str | None = None) -> None:
        self.vin = vin
        super().__init__(f"VIN {vin!r}: {message}", code=code)


class StoreError(LinespeedError):
    """The database cannot be opened, migrated or used as asked."""

    code = "store.error"


class NotFoundError(LinespeedError):
    """Something asked for by id does not exist (a VIN, a dead letter, ...)."""

    code = "not_found"


class InputFileError(LinespeedError):
    """An input file cannot be read (missing, unreadable, bad header)."""

    code = "input.invalid"

    def __init__(self, file: str, message: str, *, line: int | None = None) -> None:
        self.file = file
        self.line = line
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")
