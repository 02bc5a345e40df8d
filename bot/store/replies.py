"""The replies to each accepted message, kept for a few minutes: the mark that it was
answered.

- A web chat POST waits for the answer to its message. Any bot process may handle that
  message; the one that did keeps the replies here (sealed: they may repeat what the
  worker said) and says so on the outbox notices channel; the process holding the POST
  wakes on that notice (bot/store/feeds.py) and reads them.
- A message taken over from a process that died after answering it but before
  acknowledging it is found answered here, and is not answered twice. The mark is
  written in the same step as the replies' record (Outbox.record).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.messages import Outbound
from bot.store.keys import Keys
from bot.store.sealing import Sealer

KEEP_SECONDS = 300


def stage_answer(
    pipe: Pipeline, keys: Keys, sealer: Sealer, entry_id: str, replies: Sequence[Outbound]
) -> None:
    """Adds "``entry_id`` was answered with ``replies``" to a transaction."""
    data = json.dumps([r.to_json() for r in replies], ensure_ascii=False)
    pipe.set(keys.replies(entry_id), sealer.seal(data), ex=KEEP_SECONDS)


class Replies:
    def __init__(self, redis: Redis, keys: Keys, sealer: Sealer | None = None) -> None:
        self._redis, self._keys = redis, keys
        self._sealer = sealer or Sealer.plain()

    async def put(
        self,
        entry_id: str,
        sender: str,
        replies: Sequence[Outbound],
        also: Callable[[Pipeline], None] | None = None,
    ) -> None:
        """The mark alone (replies the outbox does not keep: an erased conversation's),
        with what ``also`` adds in the same step."""
        async with self._redis.pipeline(transaction=True) as pipe:
            stage_answer(pipe, self._keys, self._sealer, entry_id, replies)
            if also is not None:
                also(pipe)
            pipe.publish(self._keys.outbox_notices(), sender)
            await pipe.execute()

    async def get(self, entry_id: str) -> list[dict[str, Any]] | None:
        raw = await self._redis.get(self._keys.replies(entry_id))
        if raw is None:
            return None
        found: list[dict[str, Any]] = json.loads(self._sealer.unseal(raw))
        return found
