"""Errors of the supply package: a stock question that cannot be asked as given."""

from __future__ import annotations

from linespeed.errors import InputError


class StockInputError(InputError):
    """A stock question is refused: `parameter` (`part`) and its `value`.

    Raised for a part that is in no BOM of the plant and was never received or counted.
    """

    code = "stock.input"
