"""Redis clients: the one place that opens them."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

# A process's connections to Redis: a burst of requests beyond this waits its turn for
# a connection (a few milliseconds each) instead of failing with "Too many connections".
POOL_SIZE = 200


SENTINEL_SCHEME = "redis+sentinel://"


def connect_redis(url: str, *, decode: bool = True, bounded: int | None = POOL_SIZE) -> Redis:
    """A pool that rides out a Redis restart of a few seconds instead of failing at once.

    ``bounded``: at most this many connections, and a caller waits (up to 10 s) for a
    free one rather than failing; the live streams have a small pool of their own, so
    their many clients never take the connections the rest of the helpline uses."""
    options: dict[str, Any] = {
        "decode_responses": decode,
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=8),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "socket_connect_timeout": 2,
        "socket_timeout": 20,
        "health_check_interval": 30,
    }
    if url.startswith(SENTINEL_SCHEME):
        return _through_sentinels(url, options, bounded)
    if bounded is None:
        return Redis.from_url(url, **options)
    pool = BlockingConnectionPool.from_url(url, max_connections=bounded, timeout=10, **options)
    # from_pool: closing the client closes its pool (and every connection in it).
    return Redis.from_pool(pool)


def as_text(value: Any) -> str:
    """A value Redis returned, as text (a client opened with ``decode=False`` gives bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


async def answers(redis: Redis, seconds: float = 1.0) -> bool:
    """True when Redis answers a PING within ``seconds``."""
    try:
        return bool(await asyncio.wait_for(redis.ping(), seconds))
    except (RedisError, TimeoutError, OSError):
        return False


async def check(redis: Redis) -> None:
    """Raises when Redis does not answer (at start-up: better to stop than to limp)."""
    await redis.ping()


class _SentinelRedis(Redis):
    """The primary's client; closing it closes the clients of the sentinels too."""

    watchers: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for client in self.watchers.sentinels if self.watchers is not None else []:
            await client.aclose()


def _through_sentinels(url: str, options: dict[str, Any], bounded: int | None) -> Redis:
    """``redis+sentinel://[:password@]host:port,host:port/master``: the primary the
    sentinels name, found again after a failover (redis-py's Sentinel support)."""
    parts = urlsplit(url.replace(SENTINEL_SCHEME, "redis://", 1))
    netloc = parts.netloc.rpartition("@")[2]
    password = unquote(parts.password) if parts.password else None
    sentinels = []
    for address in netloc.split(","):
        host, _, port = address.strip().rpartition(":")
        sentinels.append((host or "127.0.0.1", int(port)))
    master = parts.path.strip("/") or "helpline"
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        sentinels,
        socket_timeout=2,
        socket_connect_timeout=2,
        sentinel_kwargs={"socket_timeout": 2, "socket_connect_timeout": 2},
    )
    primary: _SentinelRedis = sentinel.master_for(
        master,
        redis_class=_SentinelRedis,
        password=password,
        max_connections=bounded or 10_000,
        **options,
    )
    primary.watchers = sentinel
    return primary


async def replicas(redis: Redis) -> int:
    """How many replicas are connected to the primary now."""
    info = await redis.info("replication")
    return int(info.get("connected_slaves", 0))
