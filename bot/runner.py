"""Dispatch workers: take accepted messages from the inbox, handle them, acknowledge.

A message is acknowledged only after it was handled, so one taken by a process that
died is claimed again by another (or by this one after a restart).

One reader takes entries in the order they were accepted and queues them per sender;
each sender's queue is handled one message after the other, in that order (a country
button pressed just before a question is applied before the question is answered),
while different senders are handled side by side, up to ``workers`` at a time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import deque

from redis.exceptions import RedisError

from bot.dispatch import Dispatcher
from bot.logs import masked
from bot.messages import Inbound
from bot.store.inbox import Inbox
from bot.store.replies import Replies
from bot.tasks import being_cancelled, stop_tasks

log = logging.getLogger(__name__)

RECLAIM_IDLE_MS = 60_000


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
        self._slots = asyncio.Semaphore(workers)
        # Entries read but not yet handled, per sender, in the order they were accepted.
        self._queues: dict[str, deque[tuple[str, Inbound]]] = {}
        self._queued: set[str] = set()
        self._room = asyncio.Event()
        self._drains: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        # Channels whose requests wait for the replies (the web chat): kept for them.
        self._answers: dict[str, Replies] = {}

    async def start(self) -> None:
        await self.inbox.ensure_group()
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._reclaim())]

    async def stop(self) -> None:
        await stop_tasks(self._tasks)
        await stop_tasks(list(self._drains))
        self._tasks, self._drains = [], set()
        self._queues.clear()
        self._queued.clear()

    async def submit(self, inbound: Inbound) -> str | None:
        """Accept a message durably; None when it is a redelivery of one already taken."""
        return await self.inbox.accept(inbound)

    async def seen(self, channel: str, user_id: str, message_id: str) -> bool:
        """True for a redelivery of a message already accepted (its file is not fetched
        again)."""
        return await self.inbox.seen(channel, user_id, message_id)

    def answer_with(self, channel: str, replies: Replies) -> None:
        """This channel's requests wait for their replies: keep them in ``replies``,
        where the process holding the request reads them (it may be another one)."""
        self._answers[channel] = replies

    async def _handle(self, entry_id: str, inbound: Inbound) -> None:
        replies = await self.dispatcher.handle(inbound)
        answers = self._answers.get(inbound.channel)
        if answers is not None:
            await answers.put(entry_id, inbound.sender, [r.to_json() for r in replies])
        await self.inbox.ack(entry_id)

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
            log.exception("handling %s from %s failed", entry_id, masked(inbound.sender))

    def _route(self, entry_id: str, inbound: Inbound) -> None:
        if entry_id in self._queued:
            return
        self._queued.add(entry_id)
        queue = self._queues.get(inbound.sender)
        if queue is None:
            queue = self._queues[inbound.sender] = deque()
            task = asyncio.create_task(self._drain(inbound.sender, queue))
            self._drains.add(task)
            task.add_done_callback(self._drains.discard)
        queue.append((entry_id, inbound))

    async def _drain(self, sender: str, queue: deque[tuple[str, Inbound]]) -> None:
        """One sender's messages, one after the other."""
        try:
            while queue:
                entry_id, inbound = queue[0]
                try:
                    async with self._slots:
                        await self._handle_or_leave(entry_id, inbound)
                except RedisError as exc:
                    if being_cancelled():
                        raise asyncio.CancelledError from exc
                    log.warning("inbox unavailable, retrying %s: %s", entry_id, exc)
                    await asyncio.sleep(1)
                    continue
                queue.popleft()
                self._queued.discard(entry_id)
                self._room.set()
        finally:
            if self._queues.get(sender) is queue:
                del self._queues[sender]
            for entry_id, _ in queue:
                self._queued.discard(entry_id)

    async def _read(self) -> None:
        limit = self._workers * 8
        while True:
            try:
                while len(self._queued) >= limit:
                    self._room.clear()
                    await self._room.wait()
                for entry_id, inbound in await self.inbox.read(
                    self.consumer, count=limit - len(self._queued)
                ):
                    self._route(entry_id, inbound)
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
                    if entry_id not in self._queued:
                        log.warning("reclaimed %s from %s", entry_id, masked(inbound.sender))
                        self._route(entry_id, inbound)
            except RedisError as exc:
                if being_cancelled():
                    raise asyncio.CancelledError from exc
                log.warning("inbox reclaim failed: %s", exc)
            await asyncio.sleep(self._reclaim_idle_ms / 4000)
