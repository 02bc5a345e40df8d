"""What the worker sees, per conversation, kept in a Redis stream.

The web chat reads it over server-sent events (resuming from Last-Event-ID after a
reconnect or a bot restart); operator replies land here the same way as bot replies.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis.asyncio import Redis

from bot.messages import Outbound
from bot.store.keys import Keys
from bot.store.streams import read_entries

MAX_KEPT = 1000


class Outbox:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys

    async def push(self, sender: str, message: dict[str, Any]) -> str:
        message = {**message, "ts": time.time()}
        entry_id = await self._redis.xadd(
            self._keys.outbox(sender),
            {"data": json.dumps(message, ensure_ascii=False)},
            maxlen=MAX_KEPT,
            approximate=True,
        )
        return str(entry_id)

    async def push_outbound(self, sender: str, outbound: Outbound) -> str:
        return await self.push(sender, outbound.to_json())

    async def read(
        self, sender: str, after: str = "0-0", block_ms: int | None = None, count: int = 100
    ) -> list[tuple[str, dict[str, Any]]]:
        answer = await self._redis.xread(
            {self._keys.outbox(sender): after}, count=count, block=block_ms
        )
        return [(key, {"id": key, **data}) for key, data in read_entries(answer)]

    async def expire(self, sender: str, seconds: int) -> None:
        await self._redis.expire(self._keys.outbox(sender), seconds)

    async def delete(self, sender: str) -> None:
        await self._redis.delete(self._keys.outbox(sender))
