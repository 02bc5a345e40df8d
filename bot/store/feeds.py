"""Live feeds for open event streams: one Redis reader per process, however many streams.

Each open web chat stream used to hold a pooled Redis connection in a blocking XREAD,
and each open console held a pub/sub connection of its own: 110 streams from one client
exhausted the pool, and a new emergency was answered 503. Now one pub/sub connection per
process listens for everything streams wait for, and fans it out to in-process waiters:

- ``OutboxFeed``: a stream waits (no connection held) until its conversation's outbox
  changes (Outbox.push publishes the sender), then reads what is new in one short,
  non-blocking call on a client of its own with a bounded pool, so streams can never take
  the connections the intake, the webhooks, the queue watch and the console use.
- ``EventFeed``: the helpline's events (bot/store/events.py) for every open console.

A waiter that misses a notice (Redis restarted, the subscription came back) reads anyway
when its wait times out, so nothing is lost, only late.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis

from bot.store.events import Events
from bot.store.keys import Keys
from bot.tasks import being_cancelled, stop_tasks

log = logging.getLogger(__name__)


class _Fanout:
    """One pub/sub subscription, fanned out to in-process waiters by key."""

    def __init__(self, redis: Redis, channel: str) -> None:
        self._redis, self._channel = redis, channel
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self.ready.wait(), 10)

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
        for events in self._waiters.values():
            for event in events:
                event.set()

    def key_of(self, data: str) -> str:
        return data

    @asynccontextmanager
    async def waiter(self, key: str) -> AsyncIterator[asyncio.Event]:
        event = asyncio.Event()
        self._waiters[key].add(event)
        try:
            yield event
        finally:
            self._waiters[key].discard(event)
            if not self._waiters[key]:
                del self._waiters[key]

    def _wake(self, key: str) -> None:
        for event in self._waiters.get(key, ()):
            event.set()

    def wake_all(self) -> None:
        """Every waiter looks now (shutting down: open streams end at once)."""
        self._wake_all()

    def _wake_all(self) -> None:
        for events in self._waiters.values():
            for event in events:
                event.set()

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self._channel)
                self.ready.set()
                self._wake_all()  # anything missed while away is read now
                try:
                    while True:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=5.0
                        )
                        if message is not None and message.get("type") == "message":
                            self._on(str(message["data"]))
                finally:
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            except Exception as exc:
                if being_cancelled():
                    raise asyncio.CancelledError from exc
                log.warning("live feed %s: %s; listening again in a second", self._channel, exc)
                self.ready.set()
                await asyncio.sleep(1)

    def _on(self, data: str) -> None:
        self._wake(self.key_of(data))


class OutboxFeed(_Fanout):
    """Wakes the streams of one conversation when its outbox changes."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        super().__init__(redis, keys.outbox_notices())


class EventFeed(_Fanout):
    """The helpline's events for every open console, from one subscription."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        super().__init__(redis, Events(redis, keys).channel)
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()

    @asynccontextmanager
    async def listen(self, size: int = 1000) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of every event from now on; a console too slow to keep up loses the
        oldest (it reloads the state when it reconnects anyway)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(size)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    def _on(self, data: str) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            return
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)
