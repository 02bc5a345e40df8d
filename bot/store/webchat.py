"""The web chat's access tokens and stream tickets.

A token is kept only as its SHA-256 hash (a copy of Redis does not let anyone write
as a worker); it names its conversation for 180 days. A ticket opens one event stream,
once, within a minute (an EventSource cannot send a header, and a URL ends up in logs).
"""

from __future__ import annotations

import hashlib
import time

from redis.asyncio import Redis

from bot.store.counters import count_in_window
from bot.store.keys import Keys

TOKEN_TTL = 180 * 86400
TICKET_SECONDS = 60


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class WebChatAccess:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys

    async def open(self, conversation_id: str, token: str) -> None:
        hashed = _hash(token)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.webchat_token(hashed), conversation_id, ex=TOKEN_TTL)
            pipe.set(self._keys.webchat_conversation(conversation_id), hashed, ex=TOKEN_TTL)
            await pipe.execute()

    async def conversation(self, token: str) -> str | None:
        found = await self._redis.get(self._keys.webchat_token(_hash(token)))
        return None if found is None else str(found)

    async def new_ticket(self, ticket: str, conversation_id: str) -> None:
        key = self._keys.webchat_ticket(_hash(ticket))
        await self._redis.set(key, conversation_id, ex=TICKET_SECONDS)

    async def take_ticket(self, ticket: str) -> str | None:
        found = await self._redis.getdel(self._keys.webchat_ticket(_hash(ticket)))
        return None if found is None else str(found)

    async def forget(self, conversation_id: str) -> None:
        """The worker erased their data: the conversation's token stops working."""
        key = self._keys.webchat_conversation(conversation_id)
        hashed = await self._redis.get(key)
        if hashed:
            await self._redis.delete(self._keys.webchat_token(str(hashed)))
        await self._redis.delete(key)

    async def opened_from(self, address: str) -> int:
        """Conversations opened from this address in the current hour, this one counted."""
        hour = int(time.time() // 3600)
        return await count_in_window(
            self._redis, self._keys.conversations_from(address, hour), 3700
        )
