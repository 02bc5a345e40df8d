"""Live events for open consoles: a Redis pub/sub channel under the key prefix.

Events only say that something changed (a new escalation, a claim, a message on a
case); consoles then read the state from Redis. A console that missed events while
disconnected reloads the state when it reconnects, so nothing depends on delivery.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from bot.store.keys import Keys
from bot.tasks import being_cancelled

log = logging.getLogger(__name__)


class Events:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._channel = redis, keys.events()

    @property
    def channel(self) -> str:
        return self._channel

    async def publish(self, event_type: str, /, **data: Any) -> None:
        event = {"type": event_type, "at": time.time(), **data}
        await self._redis.publish(self._channel, json.dumps(event, ensure_ascii=False))

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[PubSub]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self._channel)
        try:
            yield pubsub
        finally:
            await pubsub.unsubscribe(self._channel)
            await pubsub.aclose()  # type: ignore[no-untyped-call]


async def next_event(pubsub: PubSub, wait_seconds: float) -> dict[str, Any] | None:
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait_seconds)
    if message is None or message.get("type") != "message":
        return None
    data: dict[str, Any] = json.loads(message["data"])
    return data


async def follow(
    events: Events,
    handle: Callable[[dict[str, Any]], Awaitable[None]],
    ready: asyncio.Event | None = None,
) -> None:
    """Calls ``handle`` with every event for as long as the task runs; after a Redis
    error (or one from ``handle``) it subscribes again. ``ready`` is set once listening."""
    while True:
        try:
            async with events.subscribe() as pubsub:
                if ready is not None:
                    ready.set()
                while True:
                    event = await next_event(pubsub, 5.0)
                    if event is not None:
                        await handle(event)
        except Exception as exc:
            if being_cancelled():
                raise asyncio.CancelledError from exc
            log.warning("events: %s; listening again in a second", exc)
            if ready is not None:
                ready.set()
            await asyncio.sleep(1)
