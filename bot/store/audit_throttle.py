"""Pages that refresh on every change would fill the audit log: one entry per user,
case and window is enough to say who looked."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.store.keys import Keys

WINDOW_SECONDS = 600


class AuditThrottle:
    def __init__(self, redis: Redis, keys: Keys, window: int = WINDOW_SECONDS) -> None:
        self._redis, self._keys, self._window = redis, keys, window

    async def first(self, username: str, case_id: str) -> bool:
        """True for the first look of ``username`` at the case in the window."""
        key = self._keys.audit_fragment(username, case_id)
        return bool(await self._redis.set(key, "1", nx=True, ex=self._window))
