"""Waiting in tests for something another task or process does: one helper with a
deadline, instead of hand-written polling loops and fixed sleeps that guess how long."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
async def eventually(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], object] = ...,
    *,
    what: str = ...,
    seconds: float = ...,
    every: float = ...,
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], T],
    check: Callable[[T], object] = ...,
    *,
    what: str = ...,
    seconds: float = ...,
    every: float = ...,
) -> T: ...


async def eventually(
    probe: Callable[[], Any],
    check: Callable[[Any], object] = bool,
    *,
    what: str = "the awaited condition",
    seconds: float = 10.0,
    every: float = 0.05,
) -> Any:
    """Calls ``probe`` (sync or async) until ``check`` holds for what it returns (by
    default: until it is truthy) and returns that value; fails after ``seconds``.

    The failure names ``what`` was awaited and shows the last value probed, so a red
    test says what it saw instead of only that it timed out.
    """
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if check(value):
            return value
        if time.monotonic() >= deadline:
            seen = repr(value)
            seen = seen if len(seen) <= 2000 else seen[:2000] + "..."
            raise AssertionError(f"{what}: not within {seconds:g} s; last seen: {seen}")
        await asyncio.sleep(every)
