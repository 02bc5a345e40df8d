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
from redis.exceptions import RedisError, ResponseError

from bot.messages import Inbound
from bot.store.connection import as_text, replicas
from bot.store.keys import Keys
from bot.store.outbox import MAX_KEPT, TRANSCRIPT_SECONDS
from bot.store.sealing import Sealer
from bot.store.streams import entries, read_entries

GROUP = "dispatch"
SEEN_TTL = 14 * 86400  # Meta redelivers for days
# How long each channel's message ids are remembered to drop redeliveries: as long as
# the platform may redeliver (Telegram retries for a day; a web chat page retries a
# send within minutes), not a fortnight for every web chat message.
SEEN_TTL_OF = {"webchat": 86400, "telegram": 2 * 86400}

# Accepts a message once (the platform's id, remembered for SEEN_TTL with the entry it
# became) and notes its place in its conversation's order, in one step; with ARGV[3], also
# shows it in its conversation's transcript (KEYS[4], the web chat's echo), so a message
# is never accepted yet missing from what the worker sees.
_ACCEPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local id = redis.call('XADD', KEYS[2], '*', 'data', ARGV[2])
redis.call('SET', KEYS[1], id, 'EX', ARGV[1])
redis.call('RPUSH', KEYS[3], id)
redis.call('EXPIRE', KEYS[3], ARGV[1])
if ARGV[3] ~= '' then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'data', ARGV[3])
  redis.call('EXPIRE', KEYS[4], ARGV[5])
  redis.call('PUBLISH', KEYS[5], ARGV[6])
end
return id
"""


def entry_order(entry_id: str) -> tuple[int, int]:
    """A stream entry id as something to sort by (ids grow with acceptance)."""
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)


# With replicas (Redis with Sentinel), how long an accepted message waits for one to have
# it before the helpline answers "accepted".
REPLICA_WAIT_MS = 1000


class NotReplicated(RedisError):
    """No replica confirmed the message in time: not accepted (the sender tries again)."""


class Inbox:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        sealer: Sealer | None = None,
        *,
        replicated: bool = False,
    ) -> None:
        """``replicated``: "accepted" means a replica has the message too, so it survives
        the primary's failover (WAIT 1)."""
        self._redis, self._keys, self._replicated = redis, keys, replicated
        self._sealer = sealer or Sealer.plain()
        self._accept = redis.register_script(_ACCEPT)

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._keys.inbox(), GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def accept(self, inbound: Inbound, shown: str | None = None) -> str | None:
        """The inbox entry id, or None when this platform message was seen before.
        ``shown``: the sealed transcript entry that shows it (Outbox.sealed), added in the
        same step."""
        entry = await self._accept(
            keys=[
                self._keys.seen(inbound.channel, inbound.user_id, inbound.message_id),
                self._keys.inbox(),
                self._keys.inbox_order(inbound.sender),
                self._keys.outbox(inbound.sender),
                self._keys.outbox_notices(),
            ],
            args=[
                SEEN_TTL_OF.get(inbound.channel, SEEN_TTL),
                self._sealer.seal(json.dumps(inbound.to_json(), ensure_ascii=False)),
                shown or "",
                MAX_KEPT,
                TRANSCRIPT_SECONDS,
                inbound.sender,
            ],
        )
        if entry is None:
            return None
        # A replica is connected yet did not confirm: not accepted, so not lost in a
        # failover (the redelivery is a duplicate if the primary kept it). With no replica
        # connected there is nothing to fail over to: accepted.
        if (
            self._replicated
            and await self._redis.wait(1, REPLICA_WAIT_MS) < 1
            and await replicas(self._redis) > 0
        ):
            raise NotReplicated("no replica confirmed the message in time")
        return str(entry)

    async def seen(self, channel: str, user_id: str, message_id: str) -> bool:
        """True when this platform message was accepted before (a redelivery)."""
        return bool(await self._redis.exists(self._keys.seen(channel, user_id, message_id)))

    async def accepted_as(self, inbound: Inbound) -> str | None:
        """The entry a message sent again became when it was first accepted (None when
        it is not known, or was accepted before entries were remembered)."""
        found = await self._redis.get(
            self._keys.seen(inbound.channel, inbound.user_id, inbound.message_id)
        )
        text = None if found is None else as_text(found)
        return text if text and "-" in text else None

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

    async def own_pending(self, consumer: str, count: int = 100) -> list[tuple[str, Inbound]]:
        """What Redis delivered to ``consumer`` and it has not acknowledged - also entries
        whose delivery the consumer never saw (Redis went down before the reply)."""
        answer = await self._redis.xreadgroup(
            GROUP, consumer, {self._keys.inbox(): "0"}, count=count
        )
        return [
            (key, Inbound.from_json(data))
            for key, data in read_entries(answer, self._sealer.unseal)
        ]

    async def pending_ids(self, consumer: str, count: int = 1000) -> list[str]:
        """The ids of what Redis delivered to ``consumer`` and it has not acknowledged."""
        pending: Any = await self._redis.xpending_range(
            self._keys.inbox(), GROUP, min="-", max="+", count=count, consumername=consumer
        )
        return [as_text(p["message_id"]) for p in pending]

    async def reclaim(self, consumer: str, min_idle_ms: int) -> list[tuple[str, Inbound]]:
        """Entries another worker took and never acknowledged (it died)."""
        answer: Any = await self._redis.xautoclaim(
            self._keys.inbox(), GROUP, consumer, min_idle_time=min_idle_ms, count=50
        )
        return [
            (key, Inbound.from_json(data)) for key, data in entries(answer[1], self._sealer.unseal)
        ]

    async def ack(self, entry_id: str, sender: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._keys.inbox(), GROUP, entry_id)
            pipe.xdel(self._keys.inbox(), entry_id)
            pipe.lrem(self._keys.inbox_order(sender), 1, entry_id)
            await pipe.execute()

    async def first_of(self, sender: str) -> str | None:
        """The conversation's oldest message not handled yet (by any process)."""
        found = await self._redis.lindex(self._keys.inbox_order(sender), 0)
        return None if found is None else as_text(found)

    async def consumers(self) -> dict[str, tuple[int, int]]:
        """Each consumer (a process, now or once) of the inbox: (messages it took and
        has not acknowledged, milliseconds since it last read)."""
        found: dict[str, tuple[int, int]] = {}
        try:
            listed: Any = await self._redis.xinfo_consumers(self._keys.inbox(), GROUP)
        except ResponseError:
            return found  # no group yet
        for consumer in listed:
            found[as_text(consumer["name"])] = (int(consumer["pending"]), int(consumer["idle"]))
        return found

    async def take_over(self, dead: str, consumer: str) -> list[tuple[str, Inbound]]:
        """Everything a consumer whose process died had taken, now ``consumer``'s."""
        ids: list[Any] = await self.pending_ids(dead)  # redis-py's types want list[Any]
        if not ids:
            return []
        claimed: Any = await self._redis.xclaim(
            self._keys.inbox(), GROUP, consumer, min_idle_time=0, message_ids=ids
        )
        return [
            (key, Inbound.from_json(data)) for key, data in entries(claimed, self._sealer.unseal)
        ]

    async def forget_consumer(self, consumer: str) -> None:
        """A process gone for good, with nothing left pending: out of the group."""
        await self._redis.xgroup_delconsumer(self._keys.inbox(), GROUP, consumer)
