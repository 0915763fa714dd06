"""Running the NATS client's coroutines from synchronous code, wherever it is called from."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to its end on an event loop of its own and return what it returns.

    From a thread already running an event loop (a server, a notebook, a browser test's
    driver), it runs in a thread of its own; it raises what the coroutine raises.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="linespeed-nats") as pool:
        return pool.submit(asyncio.run, coroutine).result()
