"""What the Telegram channel keeps: message ids of workers' private chats, and the
operators' group's posts about each case.

Every bot process listens to the same case events; what each post needs is taken here
once across processes (SET NX), so N processes post as one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from bot.store.keys import Keys

# Telegram lets a bot delete messages in a private chat for 48 hours.
DELETABLE_SECONDS = 48 * 3600
KEEP_SECONDS = 30 * 86400
# A process relaying a case's messages holds its turn at most this long (it died).
RELAY_LOCK_SECONDS = 15


class PrivateChats:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys

    async def remember(self, chat_id: int, message_id: int) -> None:
        """Message ids of the private chat, so "erase" can delete them within 48 hours."""
        key = self._keys.telegram_messages(str(chat_id))
        now = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {str(message_id): now})
            pipe.zremrangebyscore(key, 0, now - DELETABLE_SECONDS)
            pipe.expire(key, DELETABLE_SECONDS)
            await pipe.execute()

    async def take(self, chat_id: str) -> list[int]:
        """The ids still deletable, forgotten as they are handed over."""
        key = self._keys.telegram_messages(chat_id)
        since = time.time() - DELETABLE_SECONDS + 60
        found = await self._redis.zrangebyscore(key, since, "+inf")
        await self._redis.delete(key)
        return [int(str(i)) for i in found]


class GroupPosts:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys

    async def first(self, case_id: str, what: str) -> bool:
        """True for exactly one process: the one that makes this post. A numbered
        re-announcement is never asked for again once the next number comes: its mark
        lives an hour, not the month the case's own posts are remembered."""
        key = self._keys.telegram_posted(case_id, what)
        keep = 3600 if what.startswith("announce:") else KEEP_SECONDS
        return bool(await self._redis.set(key, "1", nx=True, ex=keep))

    async def alert_of(self, case_id: str) -> int | None:
        raw = await self._redis.get(self._keys.telegram_alert(case_id))
        return int(raw) if raw else None

    async def case_of(self, message_id: int) -> str | None:
        """The case whose alert this group message is (replies to it work that case)."""
        found = await self._redis.get(self._keys.telegram_alert_case(str(message_id)))
        return None if found is None else str(found)

    async def set_alert(self, case_id: str, message_id: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.telegram_alert(case_id), message_id, ex=KEEP_SECONDS)
            pipe.set(self._keys.telegram_alert_case(str(message_id)), case_id, ex=KEEP_SECONDS)
            await pipe.execute()

    async def remember(self, case_id: str, message_id: int) -> None:
        """Every post about a case, so erasing the worker's data can remove them."""
        key = self._keys.telegram_posts(case_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, message_id)
            pipe.expire(key, KEEP_SECONDS)
            await pipe.execute()

    async def take_all(self, case_id: str) -> list[int]:
        """The case's posts, forgotten (with its alert) as they are handed over."""
        key = self._keys.telegram_posts(case_id)
        ids = [int(i) for i in await self._redis.lrange(key, 0, -1)]
        alert = await self.alert_of(case_id)
        doomed = [key, self._keys.telegram_alert(case_id), self._keys.telegram_relayed(case_id)]
        if alert is not None:
            doomed.append(self._keys.telegram_alert_case(str(alert)))
        await self._redis.delete(*doomed)
        return ids

    @asynccontextmanager
    async def relaying(self, case_id: str) -> AsyncIterator[bool]:
        """The case's turn to relay worker messages: True for one process at a time."""
        key = self._keys.telegram_relay_lock(case_id)
        token = f"{time.time()}"
        taken = bool(await self._redis.set(key, token, nx=True, ex=RELAY_LOCK_SECONDS))
        try:
            yield taken
        finally:
            if taken and await self._redis.get(key) == token:
                await self._redis.delete(key)

    async def relayed(self, case_id: str) -> int:
        """How many timeline entries of the case the group has been shown (or skipped)."""
        raw = await self._redis.get(self._keys.telegram_relayed(case_id))
        return int(str(raw)) if raw else -1

    async def set_relayed(self, case_id: str, count: int) -> None:
        await self._redis.set(self._keys.telegram_relayed(case_id), count, ex=KEEP_SECONDS)
