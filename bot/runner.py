"""Dispatch workers: take accepted messages from the inbox, handle them, acknowledge.

A message is acknowledged only after it was handled, so one taken by a process that
died is claimed again by another (or by this one after a restart).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import OrderedDict

from redis.exceptions import RedisError

from bot.dispatch import Dispatcher
from bot.messages import Inbound, Outbound
from bot.store.inbox import Inbox
from bot.tasks import being_cancelled, stop_tasks

log = logging.getLogger(__name__)

RECLAIM_IDLE_MS = 60_000
_DONE_KEPT = 1000


class InboxRunner:
    def __init__(
        self,
        inbox: Inbox,
        dispatcher: Dispatcher,
        *,
        workers: int = 8,
        reclaim_idle_ms: int = RECLAIM_IDLE_MS,
    ) -> None:
        self.inbox, self.dispatcher = inbox, dispatcher
        self._reclaim_idle_ms = reclaim_idle_ms
        self.consumer = f"{socket.gethostname()}-{os.getpid()}"
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []
        self._waiters: dict[str, asyncio.Future[list[Outbound]]] = {}
        self._done: OrderedDict[str, list[Outbound]] = OrderedDict()

    async def start(self) -> None:
        await self.inbox.ensure_group()
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._workers)]
        self._tasks.append(asyncio.create_task(self._reclaim()))

    async def stop(self) -> None:
        await stop_tasks(self._tasks)
        self._tasks = []

    async def submit(self, inbound: Inbound) -> str | None:
        """Accept a message durably; None when it is a redelivery of one already taken."""
        return await self.inbox.accept(inbound)

    async def wait(self, entry_id: str, seconds: float) -> list[Outbound] | None:
        """The replies to an accepted message, if handled within ``seconds``."""
        if entry_id in self._done:
            return self._done[entry_id]
        future = self._waiters.setdefault(entry_id, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(asyncio.shield(future), seconds)
        except TimeoutError:
            return None
        finally:
            if future.done():
                self._waiters.pop(entry_id, None)

    async def _handle(self, entry_id: str, inbound: Inbound) -> None:
        replies = await self.dispatcher.handle(inbound)
        await self.inbox.ack(entry_id)
        self._done[entry_id] = replies
        while len(self._done) > _DONE_KEPT:
            self._done.popitem(last=False)
        future = self._waiters.pop(entry_id, None)
        if future is not None and not future.done():
            future.set_result(replies)

    async def _handle_or_leave(self, entry_id: str, inbound: Inbound) -> None:
        """Handle; on a bug, log and leave it unacknowledged so it is claimed again later.
        Redis errors propagate to the loop that retries."""
        try:
            await self._handle(entry_id, inbound)
        except RedisError:
            raise
        except Exception as exc:
            if being_cancelled():
                raise asyncio.CancelledError from exc
            log.exception("handling %s from %s failed", entry_id, inbound.sender)

    async def _work(self) -> None:
        while True:
            try:
                for entry_id, inbound in await self.inbox.read(self.consumer, count=1):
                    await self._handle_or_leave(entry_id, inbound)
            except RedisError as exc:
                if being_cancelled():
                    raise asyncio.CancelledError from exc
                log.warning("inbox unavailable, retrying: %s", exc)
                await asyncio.sleep(1)

    async def _reclaim(self) -> None:
        while True:
            try:
                for entry_id, inbound in await self.inbox.reclaim(
                    self.consumer, self._reclaim_idle_ms
                ):
                    log.warning("reclaimed %s from %s", entry_id, inbound.sender)
                    await self._handle_or_leave(entry_id, inbound)
            except RedisError as exc:
                if being_cancelled():
                    raise asyncio.CancelledError from exc
                log.warning("inbox reclaim failed: %s", exc)
            await asyncio.sleep(self._reclaim_idle_ms / 4000)
