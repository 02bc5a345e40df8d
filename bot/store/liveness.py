"""Which bot processes are alive: each renews a short-lived key every second.

A process that dies (kill -9, a lost machine) stops renewing; within HEARTBEAT_SECONDS
its key is gone, and the others take over what it held - its unacknowledged messages
(bot/runner.py) - instead of waiting for a long idle timeout.
"""

from __future__ import annotations

import os
import secrets
import socket

from redis.asyncio import Redis

from bot.store.keys import Keys

HEARTBEAT_SECONDS = 2.0
BEAT_EVERY = 0.5


def process_name() -> str:
    """Unique per run: a restarted process is a new one, and what the old one held is
    taken over like any dead process's."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Liveness:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys

    async def beat(self, consumer: str) -> None:
        await self._redis.set(self._keys.alive(consumer), "1", px=int(HEARTBEAT_SECONDS * 1000))

    async def gone(self, consumer: str) -> None:
        """A clean stop: the others need not wait for the key to lapse."""
        await self._redis.delete(self._keys.alive(consumer))

    async def alive(self, consumers: list[str]) -> set[str]:
        if not consumers:
            return set()
        async with self._redis.pipeline(transaction=False) as pipe:
            for consumer in consumers:
                pipe.exists(self._keys.alive(consumer))
            found = await pipe.execute()
        return {c for c, there in zip(consumers, found, strict=True) if there}
