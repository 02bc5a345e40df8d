"""What the WhatsApp channel keeps.

- ``Payloads``: webhook payloads as they came (sealed: they hold the worker's number,
  name and words) in a stream read through a consumer group, acknowledged and deleted
  once processed; one that could not be processed is set aside as a dead letter.
- ``Deliveries``: when each worker last wrote (the 24-hour window), which messages went
  to whom, and their delivery statuses - kept 30 days, and erased with the worker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.store.keys import Keys
from bot.store.sealing import Sealer

GROUP = "whatsapp"
KEEP_SECONDS = 30 * 86400
WINDOW_SECONDS = 24 * 3600


class Payloads:
    def __init__(self, redis: Redis, keys: Keys, sealer: Sealer | None = None) -> None:
        self._redis, self._keys = redis, keys
        self._sealer = sealer or Sealer.plain()
        self.stream, self.dead_letters = keys.whatsapp_payloads(), keys.whatsapp_dead()

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def add(self, raw: str) -> None:
        await self._redis.xadd(self.stream, {"data": self._sealer.seal(raw)})

    async def take(
        self, consumer: str, reclaim_after_ms: int, block_ms: int = 1000
    ) -> list[tuple[str, str]]:
        """Payloads to process: first any another process took and never finished (it
        died), then new ones. (entry id, the payload as it came)."""
        claimed: Any = await self._redis.xautoclaim(
            self.stream, GROUP, consumer, min_idle_time=reclaim_after_ms, count=10
        )
        found: Any = claimed[1] or []
        if not found:
            answer: Any = await self._redis.xreadgroup(
                GROUP, consumer, {self.stream: ">"}, count=10, block=block_ms
            )
            found = [item for _, items in answer or [] for item in items]
        return [(str(i), self._sealer.unseal(fields.get("data", ""))) for i, fields in found]

    async def done(self, entry_id: str, *, failed_raw: str | None = None) -> None:
        """Processed (or, with ``failed_raw``, set aside as a dead letter)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            if failed_raw is not None:
                pipe.xadd(self.dead_letters, {"data": self._sealer.seal(failed_raw)})
            pipe.xack(self.stream, GROUP, entry_id)
            pipe.xdel(self.stream, entry_id)
            await pipe.execute()

    async def erase(self, mentions: Callable[[str], bool]) -> int:
        """Deletes the stored payloads (pending and dead letters) that ``mentions``."""
        removed = 0
        for stream in (self.stream, self.dead_letters):
            raw: Any = await self._redis.xrange(stream)
            ids = [
                entry_id
                for entry_id, fields in raw
                if mentions(self._sealer.unseal(fields.get("data", "")))
            ]
            if ids:
                removed += int(await self._redis.xdel(stream, *ids))
        return removed


class Deliveries:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys

    async def wrote(self, wa_id: str) -> None:
        """The worker wrote now: their 24-hour window opens."""
        key = self._keys.whatsapp_last_in(wa_id)
        await self._redis.set(key, str(time.time()), ex=WINDOW_SECONDS * 2)

    async def window_open(self, wa_id: str) -> bool:
        last = await self._redis.get(self._keys.whatsapp_last_in(wa_id))
        return last is not None and time.time() - float(last) <= WINDOW_SECONDS

    async def sent(self, wamid: str, wa_id: str, sender: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.whatsapp_sent(wamid), sender, ex=KEEP_SECONDS)
            # Which messages went to this number: erasing their data finds them all.
            pipe.sadd(self._keys.whatsapp_sent_to(wa_id), wamid)
            pipe.expire(self._keys.whatsapp_sent_to(wa_id), KEEP_SECONDS)
            await pipe.execute()

    async def sender_of(self, wamid: str) -> str | None:
        """Who a message of ours went to; None for one we never sent (or forgot)."""
        found = await self._redis.get(self._keys.whatsapp_sent(wamid))
        return None if found is None else str(found)

    async def status(self, wamid: str, status: str, at: int | float, errors: list[Any]) -> None:
        key = self._keys.whatsapp_status(wamid)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"status": status, "at": str(at), "errors": json.dumps(errors)})
            pipe.expire(key, KEEP_SECONDS)
            await pipe.execute()

    async def forget(self, wa_id: str) -> None:
        sent: set[str] = await self._redis.smembers(self._keys.whatsapp_sent_to(wa_id))  # type: ignore[assignment]
        keys = [self._keys.whatsapp_sent(w) for w in sent]
        keys += [self._keys.whatsapp_status(w) for w in sent]
        keys += [self._keys.whatsapp_sent_to(wa_id), self._keys.whatsapp_last_in(wa_id)]
        await self._redis.delete(*keys)
