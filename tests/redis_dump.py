"""Everything a Redis server holds under a prefix, as bytes: for tests that look for
what must not be stored (an erased worker's number, a text in the clear)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis


async def everything(redis: Redis, prefix: str = "") -> list[bytes]:
    """Every key (under ``prefix``) and every value in it, of every type, as bytes."""
    found: list[Any] = []
    match = f"{prefix}:*" if prefix else "*"
    async for key in redis.scan_iter(match=match, count=1000):
        found.append(key)
        kind_raw: Any = await redis.type(key)
        kind = kind_raw.decode() if isinstance(kind_raw, bytes) else str(kind_raw)
        if kind == "string":
            found.append(await redis.get(key) or b"")
        elif kind == "hash":
            for k, v in (await redis.hgetall(key)).items():
                found += [k, v]
        elif kind == "list":
            found += await redis.lrange(key, 0, -1)
        elif kind == "set":
            found += list(await redis.smembers(key))
        elif kind == "zset":
            found += await redis.zrange(key, 0, -1)
        elif kind == "stream":
            entries: Any = await redis.xrange(key)
            for _id, fields in entries:
                for k, v in fields.items():
                    found += [k, v]
    return [v if isinstance(v, bytes) else str(v).encode() for v in found]
