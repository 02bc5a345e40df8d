"""Waiting in tests for something another task or process does, with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    *,
    what: str,
    seconds: float = 5.0,
    every: float = 0.05,
) -> T:
    """Probe until ``check`` passes and return that probe's value; fail after ``seconds``.

    The failure names ``what`` was awaited and shows the last value probed.
    """
    deadline = time.monotonic() + seconds
    while True:
        value = await probe()
        if check(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {seconds:g} s; last seen: {value!r}")
        await asyncio.sleep(every)
