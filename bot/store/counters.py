"""Fixed-window counters: how many times something happened in this minute or hour."""

from __future__ import annotations

from redis.asyncio import Redis


async def count_in_window(redis: Redis, key: str, ttl_seconds: int) -> int:
    """Counts one more under `key` (a key naming its window) and returns the count so far;
    the key outlives its window by `ttl_seconds` at most."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, ttl_seconds)
        count, _ = await pipe.execute()
    return int(count)
