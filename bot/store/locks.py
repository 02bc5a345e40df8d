"""One writer per conversation, across processes: a short Redis lock renewed while held.

The lock lives LOCK_SECONDS and its holder renews it every RENEW_SECONDS, so a process
that dies (kill -9) frees its conversations within LOCK_SECONDS instead of a long timeout,
while a slow turn (the NLU taking its time) never loses its lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError

log = logging.getLogger(__name__)

LOCK_SECONDS = 3.0
RENEW_SECONDS = 0.75
# How long a turn waits for another to finish with the conversation.
WAIT_SECONDS = 60.0


class ConversationLock:
    def __init__(self, redis: Redis, key: str, *, wait: float = WAIT_SECONDS) -> None:
        self._lock = redis.lock(key, timeout=LOCK_SECONDS, blocking_timeout=wait)
        self._renewing: asyncio.Task[None] | None = None
        self._done = asyncio.Event()

    async def __aenter__(self) -> ConversationLock:
        if not await self._lock.acquire():
            raise LockError("the conversation is busy: its lock could not be taken")
        self._renewing = asyncio.create_task(self._renew())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._renewing is not None:
            # Told to stop, not cancelled: a renewal cancelled in the middle of its Redis
            # call could leave this await hanging for good (seen when a turn ended just as
            # a renewal was under way: the conversation stalled, its reply never sent).
            self._done.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        try:
            await self._lock.release()
        except LockError:
            log.warning("a conversation lock lapsed before it was released")

    async def _renew(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._done.wait(), RENEW_SECONDS)
            if self._done.is_set():
                return
            try:
                await self._lock.reacquire()
            except LockError:
                log.warning("a conversation lock was lost while held")
                return
            except RedisError as exc:
                log.warning("a conversation lock could not be renewed: %s", exc)
