"""Console sign-in state: the sessions behind the console's cookie, and the TOTP secret
a user is enrolling.

A session is stored under the hash of its token (the cookie holds the token itself), with
an index of each user's sessions so that all of them can be listed and ended. It lasts
``hours`` from its last use and never more than ``max_hours`` in all. It starts at a
stage: "full", or, after the password of a user with two-factor sign-in,
"second_factor" or "enrol" (bot/console/account.py says what each may open).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

from bot.store.keys import Keys

FULL = "full"
SECOND_FACTOR = "second_factor"
ENROL = "enrol"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ConsoleSession:
    username: str
    csrf: str
    created_at: float
    stage: str = FULL
    remote: str = ""
    token_hash: str = ""

    @property
    def complete(self) -> bool:
        return self.stage == FULL


class ConsoleSessions:
    def __init__(self, redis: Redis, keys: Keys, hours: float, max_hours: float = 72) -> None:
        self._redis, self._keys = redis, keys
        self._ttl = max(1, int(hours * 3600))
        self._max = max_hours * 3600

    async def create(
        self, username: str, stage: str = FULL, remote: str = ""
    ) -> tuple[str, ConsoleSession]:
        token = secrets.token_urlsafe(32)
        hashed = token_hash(token)
        session = ConsoleSession(
            username, secrets.token_urlsafe(32), time.time(), stage, remote, hashed
        )
        index = self._keys.console_sessions_of(username)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.console_session(hashed), json.dumps(asdict(session)), ex=self._ttl)
            pipe.zadd(index, {hashed: session.created_at})
            pipe.expire(index, int(self._max) + 3600)
            await pipe.execute()
        return token, session

    async def get(self, token: str) -> ConsoleSession | None:
        """The session, its idle lifetime renewed; None when unknown or past its absolute
        lifetime (however recently used)."""
        key = self._keys.console_session(token_hash(token))
        raw = await self._redis.getex(key, ex=self._ttl)
        if not raw:
            return None
        session = ConsoleSession(**json.loads(raw))
        if time.time() - session.created_at > self._max:
            await self.end(token)
            return None
        return session

    async def end(self, token: str) -> None:
        await self._end_hash(token_hash(token))

    async def _end_hash(self, hashed: str) -> None:
        raw = await self._redis.getdel(self._keys.console_session(hashed))
        if raw:
            username = json.loads(raw)["username"]
            await self._redis.zrem(self._keys.console_sessions_of(username), hashed)

    async def of(self, username: str) -> list[tuple[ConsoleSession, int]]:
        """The user's open sessions and the seconds each has left unless used again."""
        index = self._keys.console_sessions_of(username)
        found: list[tuple[ConsoleSession, int]] = []
        hashes: list[str] = await self._redis.zrange(index, 0, -1)  # type: ignore[assignment]
        for hashed in hashes:
            key = self._keys.console_session(hashed)
            raw = await self._redis.get(key)
            if not raw:
                await self._redis.zrem(index, hashed)
                continue
            found.append((ConsoleSession(**json.loads(raw)), int(await self._redis.ttl(key))))
        return found

    async def end_all(self, username: str) -> int:
        sessions = await self.of(username)
        for session, _left in sessions:
            await self._end_hash(session.token_hash)
        return len(sessions)


# A pending two-factor secret waits this long for its first code.
ENROLMENT_SECONDS = 15 * 60


class TotpEnrolments:
    """The secret shown (as a QR code) to a user setting up two-factor sign-in, kept until
    they confirm it with a code or ``seconds`` pass."""

    def __init__(self, redis: Redis, keys: Keys, seconds: int) -> None:
        self._redis, self._keys, self._seconds = redis, keys, seconds

    async def secret(self, username: str, new: str) -> str:
        """The pending secret; ``new`` becomes it when there is none."""
        key = self._keys.totp_pending(username)
        if await self._redis.set(key, new, ex=self._seconds, nx=True):
            return new
        return str(await self._redis.get(key) or new)

    async def done(self, username: str) -> None:
        await self._redis.delete(self._keys.totp_pending(username))
