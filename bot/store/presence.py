"""Operators' last sign of life, in one sorted set (score: when)."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from bot.store.keys import Keys

# An operator with no sign of life (an open console, an action) for this long is away.
PRESENCE_SECONDS = 90


class Presence:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._key = redis, keys.presence()

    async def seen(self, username: str) -> None:
        await self._redis.zadd(self._key, {username: time.time()})

    async def gone(self, username: str) -> None:
        await self._redis.zrem(self._key, username)

    async def online(self, within: float = PRESENCE_SECONDS) -> set[str]:
        since = time.time() - within
        names = await self._redis.zrangebyscore(self._key, since, "+inf")
        return {str(n) for n in names}
