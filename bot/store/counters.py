"""Fixed-window counters: how many times something happened in this minute or hour."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.store.keys import Keys


async def count_in_window(redis: Redis, key: str, ttl_seconds: int) -> int:
    """Counts one more under `key` (a key naming its window) and returns the count so far;
    the key outlives its window by `ttl_seconds` at most."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, ttl_seconds)
        count, _ = await pipe.execute()
    return int(count)


class MessageRates:
    """Messages per sender per minute, for the per-sender rate limit."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys

    async def count(self, sender: str, minute: int) -> int:
        """One more message in this minute; the count so far."""
        return await count_in_window(self._redis, self._keys.rate(sender, minute), 120)
