"""The replies to one accepted message, for whichever process holds the request.

A web chat POST waits for the answer to its message. Any bot process may handle that
message, so the one that did keeps the replies here for a minute (sealed: they may
repeat what the worker said) and says so on the outbox notices channel; the process
holding the POST wakes on that notice (bot/store/feeds.py) and reads them.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from bot.store.keys import Keys
from bot.store.sealing import Sealer

KEEP_SECONDS = 60


class Replies:
    def __init__(self, redis: Redis, keys: Keys, sealer: Sealer | None = None) -> None:
        self._redis, self._keys = redis, keys
        self._sealer = sealer or Sealer.plain()

    async def put(self, entry_id: str, sender: str, replies: list[dict[str, Any]]) -> None:
        sealed = self._sealer.seal(json.dumps(replies, ensure_ascii=False))
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._keys.replies(entry_id), sealed, ex=KEEP_SECONDS)
            pipe.publish(self._keys.outbox_notices(), sender)
            await pipe.execute()

    async def get(self, entry_id: str) -> list[dict[str, Any]] | None:
        raw = await self._redis.get(self._keys.replies(entry_id))
        if raw is None:
            return None
        found: list[dict[str, Any]] = json.loads(self._sealer.unseal(raw))
        return found
