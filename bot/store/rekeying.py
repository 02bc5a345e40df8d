"""Walks every key of the helpline: which data key sealed each value, and re-sealing
with the current key (`helpline keys status|rotate`, bot/keys_cli.py)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from redis.asyncio import Redis

from bot.store.sealing import Sealer


async def count_sealed(redis: Redis, prefix: str, sealer: Sealer, reseal: bool) -> Counter[str]:
    """Counts sealed values per key id (and kind); with ``reseal``, re-seals those on an
    older key with the current one. Returns the counts after the walk."""
    counts: Counter[str] = Counter()
    current = sealer.current_id
    async for key in redis.scan_iter(match=f"{prefix}:*", count=500):
        kind_raw: Any = await redis.type(key)
        kind = kind_raw.decode() if isinstance(kind_raw, bytes) else str(kind_raw)
        if kind == "string":
            value = await redis.get(key)
            if value is None:
                continue
            kid = sealer.sealed_with(value)
            if reseal and kid and kid != current:
                await redis.set(key, sealer.seal(sealer.unseal(value)), keepttl=True)
                kid = current
            if kid:
                counts[f"{kid} record"] += 1
        elif kind == "list":
            for index, value in enumerate(await redis.lrange(key, 0, -1)):
                kid = sealer.sealed_with(value)
                if reseal and kid and kid != current:
                    await redis.lset(key, index, sealer.seal(sealer.unseal(value)))
                    kid = current
                if kid:
                    counts[f"{kid} list entry"] += 1
        elif kind == "hash":
            fields: dict[Any, Any] = await redis.hgetall(key)
            for field, value in fields.items():
                kid = sealer.sealed_with(value)
                if reseal and kid and kid != current:
                    fresh = (
                        sealer.seal_bytes(sealer.unseal_bytes(value))
                        if field == b"data"
                        else sealer.seal(sealer.unseal(value)).encode()
                    )
                    await redis.hset(key, field, fresh)
                    kid = current
                if kid:
                    counts[f"{kid} file"] += 1
        elif kind == "stream":
            entries: Any = await redis.xrange(key)
            for _id, stream_fields in entries:
                kid = sealer.sealed_with(stream_fields.get(b"data", b""))
                if kid:
                    counts[f"{kid} stream entry"] += 1
    return counts
