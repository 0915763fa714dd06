"""Lines of text filled in for many rows at once: constant bytes with fixed-width fields.

A `Template` is a sequence of constant bytes and fields: `Digits(width)` (a whole number
>= 0, zero-padded to `width` digits, as `%0<width>d` writes it) or `Text(width)` (bytes of
exactly that width). `Template.fill(columns)` writes every row into one byte matrix by
array arithmetic and returns the rows as `bytes`; a number too wide for its field makes
the rows one at a time with `%` formatting instead, which widens it as `%0<width>d` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

Column = NDArray[np.int64] | NDArray[np.uint8]
"""A field's values: whole numbers (one per row) for `Digits`, an (rows x width) byte
matrix for `Text`."""


@dataclass(frozen=True)
class Digits:
    """A whole number >= 0, zero-padded to `width` digits (more if it has more)."""

    width: int


@dataclass(frozen=True)
class Text:
    """Bytes of exactly `width` (a timestamp, a VIN)."""

    width: int


Piece = bytes | Digits | Text
_FOUR_DIGITS: Final = (
    np.array([b"%04d" % n for n in range(10_000)], dtype="S4").view(np.uint8).reshape(10_000, 4)
)


class Template:
    """A line made of constant bytes and fields, filled in for many rows at once."""

    def __init__(self, pieces: Sequence[Piece]) -> None:
        row = bytearray()
        self.fields: list[tuple[int, Digits | Text]] = []
        percent = bytearray()
        for piece in pieces:
            if isinstance(piece, bytes):
                row += piece
                percent += piece.replace(b"%", b"%%")
                continue
            self.fields.append((len(row), piece))
            row += b" " * piece.width
            percent += (
                b"%0" + str(piece.width).encode() + b"d" if isinstance(piece, Digits) else b"%s"
            )
        self.width = len(row)
        self.row = np.frombuffer(bytes(row), dtype=np.uint8)
        self.percent = bytes(percent)

    def fill(self, columns: Sequence[Column]) -> list[bytes]:
        """One line per row, the fields filled from `columns` (one per field, in order).

        Raises ValueError if the number of columns is not the number of fields.
        """
        if len(columns) != len(self.fields):
            raise ValueError(f"{len(columns)} columns for {len(self.fields)} fields")
        rows = len(columns[0]) if columns else 0
        if not rows:
            return []
        for (_, field), column in zip(self.fields, columns, strict=True):
            if isinstance(field, Digits) and int(column.max()) >= 10**field.width:
                return self._formatted(columns)
        lines = np.empty((rows, self.width), dtype=np.uint8)
        lines[:] = self.row
        for (offset, field), column in zip(self.fields, columns, strict=True):
            if isinstance(field, Text):
                lines[:, offset : offset + field.width] = column
                continue
            value = column.astype(np.int64)
            end = offset + field.width
            while end > offset:  # four digits at a time, from the right
                begin = max(offset, end - 4)
                value, low = np.divmod(value, 10_000)
                lines[:, begin:end] = _FOUR_DIGITS[low, 4 - (end - begin) :]
                end = begin
        return lines.view(f"S{self.width}").ravel().tolist()

    def _formatted(self, columns: Sequence[Column]) -> list[bytes]:
        """`fill`, a row at a time with `%` formatting."""
        values = [
            column.tolist()
            if isinstance(field, Digits)
            else np.ascontiguousarray(column).view(f"S{field.width}").ravel().tolist()
            for (_, field), column in zip(self.fields, columns, strict=True)
        ]
        return [self.percent % row for row in zip(*values, strict=True)]
