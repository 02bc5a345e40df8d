"""Console users: operators, supervisors, editors and admins, with Argon2 password hashes.

Repeated wrong passwords lock the account for a while, so a password cannot be guessed
from the console login page; the counter is kept in Redis, so every bot process sees it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from bot.store.keys import Keys

MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60
MIN_PASSWORD_LENGTH = 10


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    EDITOR = "editor"
    ADMIN = "admin"


# Who may see others' cases, reopen them and read the audit log; and who works cases.
SUPERVISING = frozenset({Role.SUPERVISOR, Role.ADMIN})
CASE_ROLES = frozenset({Role.OPERATOR, *SUPERVISING})


@dataclass
class User:
    username: str
    role: str
    display_name: str
    password_hash: str = field(repr=False)
    locale: str = "id"
    # Their Telegram username (no @), so they can claim and answer from the operators' group.
    telegram: str = ""
    disabled: bool = False
    created_at: float = field(default_factory=time.time)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> User:
        data = json.loads(raw)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class UserError(ValueError):
    pass


class LockedOut(Exception):
    def __init__(self, seconds_left: int) -> None:
        super().__init__(f"locked for {seconds_left} s")
        self.seconds_left = seconds_left


_hasher = PasswordHasher()
# Verified when the username is unknown, so the answer takes as long as for a real one.
_DUMMY_HASH = _hasher.hash("not a real password, only here for timing")


def valid_username(username: str) -> bool:
    return 2 <= len(username) <= 40 and all(c.isalnum() or c in "._-" for c in username)


class UserStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys

    async def add(
        self,
        username: str,
        password: str,
        role: Role,
        display_name: str = "",
        locale: str = "id",
        telegram: str = "",
    ) -> User:
        if not valid_username(username):
            raise UserError("a username has 2-40 letters, digits, dots, dashes or underscores")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UserError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
        user = User(
            username=username,
            role=role.value,
            display_name=display_name or username,
            password_hash=_hasher.hash(password),
            locale=locale,
            telegram=telegram.removeprefix("@").casefold(),
        )
        created = await self._redis.set(self._keys.user(username), user.to_json(), nx=True)
        if not created:
            raise UserError(f"the user {username} exists already")
        await self._redis.sadd(self._keys.users(), username)
        return user

    async def get(self, username: str) -> User | None:
        raw = await self._redis.get(self._keys.user(username))
        return User.from_json(raw) if raw else None

    async def save(self, user: User) -> None:
        await self._redis.set(self._keys.user(user.username), user.to_json())

    async def all(self) -> list[User]:
        names = sorted(await self._redis.smembers(self._keys.users()))
        users = [await self.get(str(n)) for n in names]
        return [u for u in users if u is not None]

    async def by_telegram(self, username: str | None) -> User | None:
        """The helpline user with this Telegram username, if any (and not disabled)."""
        if not username:
            return None
        wanted = username.removeprefix("@").casefold()
        found = [u for u in await self.all() if u.telegram == wanted and not u.disabled]
        return found[0] if found else None

    async def count(self) -> int:
        return int(await self._redis.scard(self._keys.users()))

    async def set_password(self, username: str, password: str) -> None:
        user = await self.get(username)
        if user is None:
            raise UserError(f"no user {username}")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UserError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
        user.password_hash = _hasher.hash(password)
        await self.save(user)
        await self._redis.delete(self._keys.login_failures(username))

    async def authenticate(self, username: str, password: str) -> User | None:
        """The user, if the password is right; raises LockedOut after repeated failures."""
        failures_key = self._keys.login_failures(username.casefold())
        failures = int(await self._redis.get(failures_key) or 0)
        if failures >= MAX_FAILURES:
            raise LockedOut(max(1, int(await self._redis.ttl(failures_key))))
        user = await self.get(username)
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
            ok = user is not None and not user.disabled
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(failures_key)
                pipe.expire(failures_key, LOCKOUT_SECONDS)
                await pipe.execute()
            return None
        await self._redis.delete(failures_key)
        assert user is not None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
            await self.save(user)
        return user
