"""The errors of the twin."""

from __future__ import annotations

from linespeed.errors import InputError


class TwinInputError(InputError):
    """A twin that cannot be fitted: an unknown line, an empty window, too little data for a
    field (each such field named with what was found)."""

    code = "twin.input"
