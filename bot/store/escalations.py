"""The operator queue, as far as the conversation core needs it: put an escalation on it.

Redis Streams, one per priority, read in priority order (emergencies first, then
complaints and "talk to a person"), oldest first within a priority. Claiming, release,
transfer and re-announcement belong to the operator queue (bot/queue, a later issue).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis

from bot.store.cases import PRIORITY_RANK, Priority
from bot.store.keys import Keys
from bot.store.streams import entries


@dataclass(frozen=True)
class Escalation:
    case_id: str
    priority: str
    kind: str  # "emergency", "complaint", "human"
    sender: str
    summary: str = ""
    created_at: float = field(default_factory=time.time)


class EscalationQueue(Protocol):
    async def put(self, escalation: Escalation) -> str: ...

    async def waiting(self) -> list[Escalation]: ...

    async def position(self, case_id: str) -> int | None: ...


class RedisEscalationQueue:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys

    def _stream(self, priority: str) -> str:
        return f"{self._keys.escalations()}:{priority}"

    async def put(self, escalation: Escalation) -> str:
        entry_id = await self._redis.xadd(
            self._stream(escalation.priority), {"data": json.dumps(asdict(escalation))}
        )
        await self._redis.publish(
            f"{self._keys.prefix}:events",
            json.dumps({"type": "escalation", **asdict(escalation)}, ensure_ascii=False),
        )
        return str(entry_id)

    async def waiting(self) -> list[Escalation]:
        found: list[Escalation] = []
        for priority in sorted(Priority, key=PRIORITY_RANK.__getitem__):
            raw: Any = await self._redis.xrange(self._stream(priority.value))
            found += [Escalation(**data) for _, data in entries(raw)]
        return found

    async def position(self, case_id: str) -> int | None:
        """1-based place of the case among waiting escalations, or None."""
        for place, escalation in enumerate(await self.waiting(), start=1):
            if escalation.case_id == case_id:
                return place
        return None
