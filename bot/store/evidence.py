"""Case evidence: photos, documents and voice notes a worker sent, kept in Redis.

Binary data needs a Redis client without response decoding; the rest of the helpline
uses a decoding one, so this store gets its own client from the same URL. Files are
size-limited by the channel before they get here. A worker who erases their data
erases their files too (``delete_of``).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.store.keys import Keys

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
    def __init__(self, redis_binary: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis_binary, keys

    def _key(self, evidence_id: str) -> str:
        return self._keys.evidence(evidence_id)

    async def put(self, data: bytes, *, mime: str, name: str, sender: str) -> str:
        evidence_id = secrets.token_urlsafe(12)
        fields = {
            "data": data,
            "mime": mime or "application/octet-stream",
            "name": name,
            "sender": sender,
            "at": str(time.time()),
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(evidence_id), mapping=fields)  # type: ignore[arg-type]
            pipe.expire(self._key(evidence_id), KEEP_DAYS * 86400)
            pipe.sadd(self._keys.evidence_of(sender), evidence_id)
            await pipe.execute()
        return evidence_id

    async def get(self, evidence_id: str) -> Evidence | None:
        raw: dict[bytes, bytes] = await self._redis.hgetall(self._key(evidence_id))  # type: ignore[assignment]
        if not raw:
            return None
        fields = {k.decode(): v for k, v in raw.items()}
        return Evidence(
            id=evidence_id,
            data=fields["data"],
            mime=fields["mime"].decode(),
            name=fields["name"].decode(),
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
