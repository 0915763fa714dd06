"""Errors of the live feed."""

from __future__ import annotations

from linespeed.errors import InputError, LinespeedError


class TooManyStreamsError(LinespeedError):
    """Opening one more live stream would pass a cap: the token's or the server's (HTTP 429).

    The client should wait and try again; the streams it has keep running.
    """

    code = "stream.too_many"


class BoardInputError(InputError):
    """The board was asked for a day it cannot show: `parameter` (`day`) and its `value`."""

    code = "board.input"
