"""Background loops that stop when asked, even through redis-py's error handling.

redis-py can turn a cancellation that lands inside a command into a ConnectionError or
TimeoutError; a loop that retries on Redis errors would then swallow the cancellation
and never stop. Loops check ``being_cancelled()`` in their error handlers, and
``stop_tasks`` cancels again until the tasks are done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from redis.exceptions import RedisError

log = logging.getLogger(__name__)


def being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def stop_tasks(tasks: Sequence[asyncio.Task[None]], seconds: float = 5.0) -> None:
    pending = {t for t in tasks if not t.done()}
    deadline = asyncio.get_running_loop().time() + seconds
    while pending:
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=0.2)
        if asyncio.get_running_loop().time() > deadline:
            log.warning("%d background tasks did not stop in %.0f s", len(pending), seconds)
            return
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.error("background task ended with %r", task.exception())


async def every(seconds: float, tick: Callable[[], Awaitable[object]], name: str) -> None:
    """Runs ``tick`` every ``seconds`` until cancelled; a Redis outage or a bug in one
    tick is logged, and the next tick comes as usual."""
    while True:
        try:
            await tick()
        except Exception as exc:
            if being_cancelled():
                raise asyncio.CancelledError from exc
            if isinstance(exc, RedisError):
                log.warning("%s: Redis unavailable: %s", name, exc)
            else:
                log.exception("%s failed; trying again", name)
        await asyncio.sleep(seconds)
