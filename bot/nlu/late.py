"""Messages read while the NLU model was unavailable are read again once it is back.

When the Rasa server cannot be asked, only the crisis lexicon decides, and it misses
most emergencies told in a worker's own words. Every message classified without the
model (and not already an emergency) is kept in a Redis stream; each bot process looks
every few seconds, and once the server answers again, reads the kept messages through
a consumer group (a process that dies leaves them to another). A message that now reads
as an emergency is handed to ``on_emergency``, which escalates it as "detected late".
Entries are removed once read; a worker who erases their data erases theirs too.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.messages import Inbound
from bot.nlu.client import Classification, NLUClient
from bot.store.keys import Keys
from bot.store.sealing import Sealer
from bot.store.streams import entries, read_entries

log = logging.getLogger(__name__)

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


EmergencyHandler = Callable[[KeptMessage, Classification], Awaitable[None]]


class LateChecks:
    def __init__(
        self, redis: Redis, keys: Keys, nlu: NLUClient, sealer: Sealer | None = None
    ) -> None:
        self._redis, self._key, self._nlu = redis, keys.nlu_late(), nlu
        self._sealer = sealer or Sealer.plain()
        self._consumer = f"{socket.gethostname()}-{os.getpid()}"

    async def keep(self, inbound: Inbound, locale: str | None) -> None:
        data = {
            "sender": inbound.sender,
            "channel": inbound.channel,
            "message_id": inbound.message_id,
            "text": inbound.text,
            "locale": locale,
            "at": time.time(),
        }
        await self._redis.xadd(
            self._key, {"data": self._sealer.seal(json.dumps(data, ensure_ascii=False))}
        )

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

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def check(self, on_emergency: EmergencyHandler) -> int:
        """One look: if anything is kept and the model answers, read it all again.
        Returns how many kept messages were read."""
        if not await self.pending() or not await self._nlu.is_ready():
            return 0
        await self._ensure_group()
        claimed: Any = await self._redis.xautoclaim(
            self._key, GROUP, self._consumer, min_idle_time=RECLAIM_IDLE_MS, count=50
        )
        found = entries(claimed[1], self._sealer.unseal)
        fresh: Any = await self._redis.xreadgroup(GROUP, self._consumer, {self._key: ">"}, count=50)
        found += read_entries(fresh, self._sealer.unseal)
        done = 0
        for entry_id, data in found:
            message = KeptMessage(
                sender=str(data["sender"]),
                channel=str(data.get("channel", "")),
                message_id=str(data.get("message_id", entry_id)),
                text=str(data.get("text", "")),
                locale=data.get("locale"),
                at=float(data.get("at") or 0),
            )
            classification = await self._nlu.classify(message.text)
            if not classification.nlu_available:
                return done  # down again: left pending, read again later
            if classification.emergency:
                log.warning("a message kept while the NLU was down reads as an emergency")
                await on_emergency(message, classification)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xack(self._key, GROUP, entry_id)
                pipe.xdel(self._key, entry_id)
                await pipe.execute()
            done += 1
        return done
