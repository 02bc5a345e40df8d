"""What erasing a worker's data leaves to do after the stores have deleted it.

Deleted keys are gone from memory at once, but Redis's append-only file still holds
every write that made them until the file is rewritten. Erasures are batched: the first
one schedules a rewrite (BGREWRITEAOF) within ``rewrite_after_seconds``; one bot process
runs it then, and the old files are dropped. A Redis without append-only persistence
needs nothing; one that does not allow CONFIG or BGREWRITEAOF (a managed service) is
logged, and its operators must rewrite or expire the files themselves.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.store.keys import Keys

log = logging.getLogger(__name__)


class Erasures:
    def __init__(self, redis: Redis, keys: Keys, rewrite_after_seconds: float) -> None:
        self._redis, self._keys = redis, keys
        self.rewrite_after = rewrite_after_seconds

    async def erased(self, sender: str) -> None:
        """A worker's data was deleted: short-lived keys named by their id go now, and the
        append-only file is rewritten within the limit."""
        window = int(time.time() // 60)
        await self._redis.delete(
            *(self._keys.rate(sender, w) for w in (window - 1, window, window + 1))
        )
        due = time.time() + self.rewrite_after
        await self._redis.set(self._keys.erase_rewrite_due(), str(due), nx=True)

    async def rewrite_if_due(self) -> bool:
        """Runs the scheduled rewrite once it is due (one process does it)."""
        due = await self._redis.get(self._keys.erase_rewrite_due())
        if due is None or float(due) > time.time():
            return False
        claim = self._keys.erase_rewrite_due() + ":claim"
        if not await self._redis.set(claim, "1", nx=True, ex=60):
            return False
        try:
            config = await self._redis.config_get("appendonly")
            if config.get("appendonly") == "yes":
                await self._redis.bgrewriteaof()
                log.info("erasures: the append-only file is being rewritten")
        except ResponseError as exc:
            if "in progress" in str(exc).lower() or "scheduled" in str(exc).lower():
                return False  # another rewrite runs: ours comes after it (claim lapses)
            log.error("erasures: Redis refused to rewrite its append-only file: %s", exc)
        await self._redis.delete(self._keys.erase_rewrite_due())
        return True
