"""Things to do later, once: a sorted set per kind of timer, scored by when it is due.

Any bot process may find a timer due; the one that claims it (SET NX with a lease) does
it, and removes it only once done. A process that dies while doing it leaves the claim
to lapse, and another process does it again - which is why what timers trigger is
idempotent (bot/store/intake.py keys).
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from bot.store.keys import Keys

LEASE_SECONDS = 30


class Timers:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys

    async def set(self, name: str, member: str, due: float) -> None:
        await self._redis.zadd(self._keys.timers(name), {member: due})

    async def cancel(self, name: str, member: str) -> bool:
        return bool(await self._redis.zrem(self._keys.timers(name), member))

    async def when(self, name: str, member: str) -> float | None:
        score = await self._redis.zscore(self._keys.timers(name), member)
        return float(score) if score is not None else None

    async def due(self, name: str, now: float | None = None) -> list[str]:
        """Due timers nobody is working on; each one returned is claimed for the caller."""
        found: list[str] = await self._redis.zrangebyscore(
            self._keys.timers(name), "-inf", time.time() if now is None else now, start=0, num=50
        )  # type: ignore[assignment]
        claimed = []
        for member in found:
            key = self._keys.timer_claim(name, member)
            if await self._redis.set(key, "1", nx=True, ex=LEASE_SECONDS):
                claimed.append(str(member))
        return claimed

    async def done(self, name: str, member: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._keys.timers(name), member)
            pipe.delete(self._keys.timer_claim(name, member))
            await pipe.execute()
