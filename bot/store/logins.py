"""Slowing down password guessing without letting anyone lock an account.

A hard lockout (5 wrong passwords and the account is shut for 15 minutes) let anybody
keep an admin out from anywhere. Instead:
- per account and address, after ``free_tries`` failures each further attempt must wait
  twice as long as the last (1 s, 2 s, 4 s ... at most ``max_delay``): the owner signing
  in from their own address is not slowed by an attacker elsewhere;
- per address, at most ``per_address`` failures in ``window`` seconds, across all
  accounts: spraying one password over many accounts stops there.
Failed logins are counted per day and account (for the audit page), not stored one
entry per attempt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.store.keys import Keys

WINDOW_SECONDS = 15 * 60
FAILED_COUNTS_KEPT = 90 * 86400


@dataclass(frozen=True)
class Wait:
    seconds: int
    # "account" (this account from this address) or "address" (anything from it).
    reason: str


class LoginGuard:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        free_tries: int = 3,
        max_delay: int = 300,
        per_address: int = 30,
        window: int = WINDOW_SECONDS,
    ) -> None:
        self._redis, self._keys = redis, keys
        self.free_tries, self.max_delay = free_tries, max_delay
        self.per_address, self.window = per_address, window

    def _account(self, username: str, address: str) -> str:
        return self._keys.login_failures(username.casefold()[:60], address)

    async def wait(self, username: str, address: str) -> Wait | None:
        """How long this attempt must wait first; None: it may go ahead."""
        by_address = int(await self._redis.get(self._keys.login_address(address)) or 0)
        if by_address >= self.per_address:
            left = await self._redis.ttl(self._keys.login_address(address))
            return Wait(max(1, int(left)), "address")
        raw = await self._redis.hgetall(self._account(username, address))
        failures, last = int(raw.get("count", 0)), float(raw.get("last", 0))
        if failures < self.free_tries:
            return None
        delay = min(2 ** (failures - self.free_tries), self.max_delay)
        left = last + delay - time.time()
        return Wait(max(1, int(left + 0.999)), "account") if left > 0 else None

    async def failed(self, username: str, address: str) -> int:
        """Counts a failure; returns the account-and-address count so far."""
        account = self._account(username, address)
        day = time.strftime("%Y-%m-%d", time.gmtime())
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(account, "count", 1)
            pipe.hset(account, "last", str(time.time()))
            pipe.expire(account, self.window)
            pipe.incr(self._keys.login_address(address))
            pipe.expire(self._keys.login_address(address), self.window, nx=True)
            pipe.hincrby(self._keys.login_failed_count(day), username.casefold()[:60], 1)
            pipe.expire(self._keys.login_failed_count(day), FAILED_COUNTS_KEPT)
            count, *_ = await pipe.execute()
        return int(count)

    async def succeeded(self, username: str, address: str) -> None:
        await self._redis.delete(self._account(username, address))

    async def clear(self, username: str) -> int:
        """An admin lifts the slow-down of an account, from every address."""
        pattern = self._keys.login_failures(username.casefold(), "*")
        found = [key async for key in self._redis.scan_iter(match=pattern, count=500)]
        if found:
            await self._redis.delete(*found)
        return len(found)

    async def failed_counts(self, day: str) -> dict[str, int]:
        raw = await self._redis.hgetall(self._keys.login_failed_count(day))
        return {str(k): int(v) for k, v in raw.items()}
