"""Accepted inbound messages, durable until handled.

A channel accepts a message by putting it here (dropping platform redeliveries by
message id in the same atomic step); dispatch workers read it through a consumer group
and acknowledge only once it is handled, so a crash or restart loses nothing: what a
dead worker left pending is claimed again.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.messages import Inbound
from bot.store.keys import Keys
from bot.store.sealing import Sealer
from bot.store.streams import entries, read_entries

GROUP = "dispatch"
SEEN_TTL = 14 * 86400  # Meta redelivers for days

_ACCEPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], '*', 'data', ARGV[2])
end
return false
"""


class Inbox:
    def __init__(self, redis: Redis, keys: Keys, sealer: Sealer | None = None) -> None:
        self._redis, self._keys = redis, keys
        self._sealer = sealer or Sealer.plain()
        self._accept = redis.register_script(_ACCEPT)

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._keys.inbox(), GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def accept(self, inbound: Inbound) -> str | None:
        """The inbox entry id, or None when this platform message was seen before."""
        entry = await self._accept(
            keys=[
                self._keys.seen(inbound.channel, inbound.user_id, inbound.message_id),
                self._keys.inbox(),
            ],
            args=[SEEN_TTL, self._sealer.seal(json.dumps(inbound.to_json(), ensure_ascii=False))],
        )
        return None if entry is None else str(entry)

    async def seen(self, channel: str, user_id: str, message_id: str) -> bool:
        """True when this platform message was accepted before (a redelivery)."""
        return bool(await self._redis.exists(self._keys.seen(channel, user_id, message_id)))

    async def read(
        self, consumer: str, count: int = 10, block_ms: int = 1000
    ) -> list[tuple[str, Inbound]]:
        answer = await self._redis.xreadgroup(
            GROUP, consumer, {self._keys.inbox(): ">"}, count=count, block=block_ms
        )
        return [
            (key, Inbound.from_json(data))
            for key, data in read_entries(answer, self._sealer.unseal)
        ]

    async def reclaim(self, consumer: str, min_idle_ms: int) -> list[tuple[str, Inbound]]:
        """Entries another worker took and never acknowledged (it died)."""
        answer: Any = await self._redis.xautoclaim(
            self._keys.inbox(), GROUP, consumer, min_idle_time=min_idle_ms, count=50
        )
        return [
            (key, Inbound.from_json(data)) for key, data in entries(answer[1], self._sealer.unseal)
        ]

    async def ack(self, entry_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._keys.inbox(), GROUP, entry_id)
            pipe.xdel(self._keys.inbox(), entry_id)
            await pipe.execute()
