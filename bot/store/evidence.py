"""Case evidence: photos, documents, videos and voice notes a worker sent, kept in Redis.

Binary data needs a Redis client without response decoding; the rest of the helpline
uses a decoding one, so this store gets its own client from the same URL. Files are
size-limited by the channel before they get here. A worker who erases their data
erases their files too (``delete_of``).

What a worker sends while no case is open (a photo, a location) waits for one in
``WaitingEvidence``: the next case opened for them takes it onto its timeline
(bot/store/intake.py); if none opens within the waiting limit, it expires.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bot.store.keys import Keys
from bot.store.sealing import Sealer

KEEP_DAYS = 365


@dataclass(frozen=True)
class Evidence:
    id: str
    data: bytes
    mime: str
    name: str
    sender: str
    at: float


class EvidenceStore:
    def __init__(self, redis_binary: Redis, keys: Keys, sealer: Sealer | None = None) -> None:
        """The file and its name are sealed (bot/store/sealing.py)."""
        self._redis, self._keys = redis_binary, keys
        self._sealer = sealer or Sealer.plain()

    def _key(self, evidence_id: str) -> str:
        return self._keys.evidence(evidence_id)

    async def put(
        self, data: bytes, *, mime: str, name: str, sender: str, keep_seconds: int = 0
    ) -> str:
        evidence_id = secrets.token_urlsafe(12)
        fields = {
            "data": self._sealer.seal_bytes(data),
            "mime": mime or "application/octet-stream",
            "name": self._sealer.seal(name),
            "sender": sender,
            "at": str(time.time()),
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(evidence_id), mapping=fields)  # type: ignore[arg-type]
            pipe.expire(self._key(evidence_id), keep_seconds or KEEP_DAYS * 86400)
            pipe.sadd(self._keys.evidence_of(sender), evidence_id)
            pipe.expire(self._keys.evidence_of(sender), KEEP_DAYS * 86400)
            await pipe.execute()
        return evidence_id

    async def keep_for(self, evidence_id: str, seconds: int) -> None:
        await self._redis.expire(self._key(evidence_id), seconds)

    async def discard(self, evidence_id: str, sender: str) -> None:
        """A file stored for a message that was then not accepted (a duplicate)."""
        await self._redis.delete(self._key(evidence_id))
        await self._redis.srem(self._keys.evidence_of(sender), evidence_id)

    async def get(self, evidence_id: str) -> Evidence | None:
        raw: dict[bytes, bytes] = await self._redis.hgetall(self._key(evidence_id))  # type: ignore[assignment]
        if not raw:
            return None
        fields = {k.decode(): v for k, v in raw.items()}
        return Evidence(
            id=evidence_id,
            data=self._sealer.unseal_bytes(fields["data"]),
            mime=fields["mime"].decode(),
            name=self._sealer.unseal(fields["name"]),
            sender=fields["sender"].decode(),
            at=float(fields["at"]),
        )

    async def delete_of(self, sender: str) -> int:
        ids: set[bytes] = await self._redis.smembers(self._keys.evidence_of(sender))  # type: ignore[assignment]
        keys = [self._key(i.decode()) for i in ids]
        if keys:
            await self._redis.delete(*keys)
        await self._redis.delete(self._keys.evidence_of(sender))
        return len(keys)


class WaitingEvidence:
    """Timeline entries ("media", "location") of a worker with no open case, in order;
    sealed like the timeline they will join."""

    def __init__(
        self, redis: Redis, keys: Keys, keep_days: float, sealer: Sealer | None = None
    ) -> None:
        self._redis, self._keys = redis, keys
        self._sealer = sealer or Sealer.plain()
        self.keep_seconds = max(1, int(keep_days * 86400))

    async def add(self, sender: str, kind: str, data: dict[str, Any]) -> None:
        entry = json.dumps({"kind": kind, "at": time.time(), **data}, ensure_ascii=False)
        key = self._keys.evidence_waiting(sender)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, self._sealer.seal(entry))
            pipe.expire(key, self.keep_seconds)
            await pipe.execute()

    async def of(self, sender: str) -> list[dict[str, Any]]:
        raw = await self._redis.lrange(self._keys.evidence_waiting(sender), 0, -1)
        return [json.loads(self._sealer.unseal(r)) for r in raw]

    async def delete_of(self, sender: str) -> None:
        await self._redis.delete(self._keys.evidence_waiting(sender))
