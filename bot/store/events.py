"""Live events for open consoles: a Redis pub/sub channel under the key prefix.

Events only say that something changed (a new escalation, a claim, a message on a
case); consoles then read the state from Redis. A console that missed events while
disconnected reloads the state when it reconnects, so nothing depends on delivery.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from bot.store.keys import Keys


class Events:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._channel = redis, keys.events()

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
