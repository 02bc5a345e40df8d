"""The audit log: who viewed or changed which case, when, from where.

A Redis stream, appended to by the console on every case view and every change; only
supervisors and admins read it. Each entry is bounded (names and ids 64 characters,
detail 300), so nothing a visitor types can grow it; the stream is capped
(approximately) at a large size rather than kept forever: the case timelines hold the
substance, this holds the access.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bot.store.keys import Keys

MAX_KEPT = 1_000_000


@dataclass(frozen=True)
class AuditEntry:
    id: str
    at: float
    user: str
    action: str
    case_id: str
    detail: str
    remote: str


class AuditLog:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._key = redis, keys.audit()

    async def record(
        self, user: str, action: str, case_id: str = "", detail: str = "", remote: str = ""
    ) -> None:
        fields: dict[Any, Any] = {
            "at": f"{time.time():.3f}",
            "user": user[:64],
            "action": action[:64],
            "case": case_id[:64],
            "detail": detail[:300],
            "remote": remote[:64],
        }
        await self._redis.xadd(self._key, fields, maxlen=MAX_KEPT, approximate=True)

    async def recent(self, count: int = 200, case_id: str = "", user: str = "") -> list[AuditEntry]:
        """The newest entries first, optionally of one case or one user."""
        found: list[AuditEntry] = []
        last = "+"
        while len(found) < count:
            raw: Any = await self._redis.xrevrange(self._key, max=last, count=500)
            if not raw:
                break
            for entry_id, f in raw:
                if (case_id and f.get("case") != case_id) or (user and f.get("user") != user):
                    continue
                found.append(
                    AuditEntry(
                        id=str(entry_id),
                        at=float(f.get("at", 0)),
                        user=f.get("user", ""),
                        action=f.get("action", ""),
                        case_id=f.get("case", ""),
                        detail=f.get("detail", ""),
                        remote=f.get("remote", ""),
                    )
                )
            if len(raw) < 500:
                break
            last = "(" + str(raw[-1][0])
        return found[:count]
