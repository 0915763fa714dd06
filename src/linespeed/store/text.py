"""Text on its way into the store: what every backend can keep."""

from __future__ import annotations


def storable_text(text: str) -> str:
    """`text` with NUL characters spelled out (`\\x00`): PostgreSQL's text cannot hold them."""
    return text.replace("\x00", "\\x00") if "\x00" in text else text
