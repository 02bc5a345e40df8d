"""Messages read while the NLU model was unavailable, kept (sealed) in a Redis stream
until the model can read them again (bot/nlu/late.py). Read through a consumer group:
what a process took and did not finish (it died) is taken over after a while. Entries
go once read; a worker who erases their data erases theirs too.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.store.keys import Keys
from bot.store.sealing import Sealer
from bot.store.streams import entries, read_entries

GROUP = "late"
# What a process took and did not finish (it died) is taken over after this long.
RECLAIM_IDLE_MS = 30_000


@dataclass(frozen=True)
class KeptMessage:
    sender: str
    channel: str
    message_id: str
    text: str
    locale: str | None
    at: float

    @classmethod
    def of(cls, entry_id: str, data: dict[str, Any]) -> KeptMessage:
        return cls(
            sender=str(data["sender"]),
            channel=str(data.get("channel", "")),
            message_id=str(data.get("message_id", entry_id)),
            text=str(data.get("text", "")),
            locale=data.get("locale"),
            at=float(data.get("at") or 0),
        )


class KeptMessages:
    def __init__(self, redis: Redis, keys: Keys, sealer: Sealer | None = None) -> None:
        self._redis, self._key = redis, keys.nlu_late()
        self._sealer = sealer or Sealer.plain()

    async def keep(
        self, sender: str, channel: str, message_id: str, text: str, locale: str | None
    ) -> None:
        message = KeptMessage(sender, channel, message_id, text, locale, time.time())
        sealed = self._sealer.seal(json.dumps(asdict(message), ensure_ascii=False))
        await self._redis.xadd(self._key, {"data": sealed})

    async def pending(self) -> int:
        return int(await self._redis.xlen(self._key))

    async def erase(self, sender: str) -> int:
        """Removes every kept message of this worker."""
        raw: Any = await self._redis.xrange(self._key)
        ids = [
            entry_id
            for entry_id, data in entries(raw, self._sealer.unseal)
            if data.get("sender") == sender
        ]
        if ids:
            await self._redis.xdel(self._key, *ids)
        return len(ids)

    async def take(self, consumer: str, count: int = 50) -> list[tuple[str, KeptMessage]]:
        """Kept messages to read again: those a dead process left, then new ones."""
        try:
            await self._redis.xgroup_create(self._key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        claimed: Any = await self._redis.xautoclaim(
            self._key, GROUP, consumer, min_idle_time=RECLAIM_IDLE_MS, count=count
        )
        found = entries(claimed[1], self._sealer.unseal)
        fresh: Any = await self._redis.xreadgroup(GROUP, consumer, {self._key: ">"}, count=count)
        found += read_entries(fresh, self._sealer.unseal)
        return [(entry_id, KeptMessage.of(entry_id, data)) for entry_id, data in found]

    async def done(self, entry_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._key, GROUP, entry_id)
            pipe.xdel(self._key, entry_id)
            await pipe.execute()
