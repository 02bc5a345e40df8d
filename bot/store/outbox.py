"""What the worker sees, per conversation, kept in a Redis stream.

The web chat reads it over server-sent events (resuming from Last-Event-ID after a
reconnect or a bot restart); operator replies land here the same way as bot replies.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.messages import Outbound
from bot.store.keys import Keys
from bot.store.replies import stage_answer
from bot.store.sealing import Sealer
from bot.store.streams import read_entries

MAX_KEPT = 1000
TRANSCRIPT_SECONDS = 180 * 86400


class Outbox:
    def __init__(self, redis: Redis, keys: Keys, sealer: Sealer | None = None) -> None:
        """Every message is sealed (bot/store/sealing.py): the transcript is testimony."""
        self._redis, self._keys = redis, keys
        self._sealer = sealer or Sealer.plain()

    def sealed(self, message: dict[str, Any]) -> str:
        """A message as a transcript entry holds it (for a step that adds it elsewhere:
        Inbox.accept)."""
        return self._sealer.seal(json.dumps({**message, "ts": time.time()}, ensure_ascii=False))

    async def push(self, sender: str, message: dict[str, Any]) -> str:
        """Adds a message and tells open streams of this conversation (bot/store/feeds.py)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(
                self._keys.outbox(sender),
                {"data": self.sealed(message)},
                maxlen=MAX_KEPT,
                approximate=True,
            )
            # A conversation's transcript lives as long as its profile (refreshed by use).
            pipe.expire(self._keys.outbox(sender), TRANSCRIPT_SECONDS)
            pipe.publish(self._keys.outbox_notices(), sender)
            entry_id, *_ = await pipe.execute()
        return str(entry_id)

    async def push_outbound(self, sender: str, outbound: Outbound) -> str:
        return await self.push(sender, outbound.to_json())

    async def record(
        self,
        sender: str,
        messages: Sequence[Outbound],
        *,
        answering: str | None = None,
        also: Callable[[Pipeline], None] | None = None,
    ) -> None:
        """The replies to one message, kept in one step with the mark that the message was
        answered (``answering``: its inbox entry id; bot/store/replies.py), so a message
        taken over after a crash is never answered twice, and with what ``also`` adds (the
        replies kept until Telegram or WhatsApp took them: bot/store/sends.py)."""
        now = time.time()
        key = self._keys.outbox(sender)
        async with self._redis.pipeline(transaction=True) as pipe:
            for message in messages:
                data = json.dumps({**message.to_json(), "ts": now}, ensure_ascii=False)
                pipe.xadd(key, {"data": self._sealer.seal(data)}, maxlen=MAX_KEPT, approximate=True)
            if messages:
                pipe.expire(key, TRANSCRIPT_SECONDS)
            if answering is not None:
                stage_answer(pipe, self._keys, self._sealer, answering, messages)
            if also is not None:
                also(pipe)
            pipe.publish(self._keys.outbox_notices(), sender)
            await pipe.execute()

    async def read(
        self, sender: str, after: str = "0-0", block_ms: int | None = None, count: int = 100
    ) -> list[tuple[str, dict[str, Any]]]:
        """Messages after ``after``; with ``block_ms``, waits for one (holding a connection:
        live streams use bot/store/feeds.py instead)."""
        answer = await self._redis.xread(
            {self._keys.outbox(sender): after}, count=count, block=block_ms
        )
        return [
            (key, {"id": key, **data}) for key, data in read_entries(answer, self._sealer.unseal)
        ]

    async def expire(self, sender: str, seconds: int) -> None:
        await self._redis.expire(self._keys.outbox(sender), seconds)

    async def delete(self, sender: str) -> None:
        await self._redis.delete(self._keys.outbox(sender))
