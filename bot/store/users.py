"""Console users: operators, supervisors, editors and admins, with Argon2 password hashes
and TOTP two-factor sign-in.

Passwords have at least 12 characters and are checked against the most common ones (and
against being easy to guess) with zxcvbn's lists. Hashing and checking run in a worker
thread, so logins never stall the event loop. Guessing is slowed per account and address
by bot/store/logins.py - there is no lockout an attacker could use to keep an admin out.
A password change, a disabled user or a changed role ends the user's sessions
(``revoked_at``: sessions older than it are refused).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from bot.store.keys import Keys

MIN_PASSWORD_LENGTH = 12
# zxcvbn's score, 0 (guessable in a few tries) to 4: at least "safely unguessable" online.
MIN_PASSWORD_SCORE = 3
RECOVERY_CODES = 10


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    EDITOR = "editor"
    ADMIN = "admin"


# Who may see others' cases, reopen them and read the audit log; and who works cases.
SUPERVISING = frozenset({Role.SUPERVISOR, Role.ADMIN})
CASE_ROLES = frozenset({Role.OPERATOR, *SUPERVISING})
# Who must sign in with a second factor; others may choose to.
TWO_FACTOR_REQUIRED = SUPERVISING


@dataclass
class User:
    username: str
    role: str
    display_name: str
    password_hash: str = field(repr=False)
    locale: str = "id"
    # Their Telegram user id (digits), so they can claim and answer from the operators'
    # group; matched by id, since anyone can change a username.
    telegram: str = ""
    disabled: bool = False
    created_at: float = field(default_factory=time.time)
    # TOTP two-factor sign-in: the shared secret (empty: not enrolled), the last time
    # step used (a code is accepted once), and the unused recovery codes' hashes.
    totp_secret: str = field(default="", repr=False)
    totp_last_step: int = 0
    recovery_codes: list[str] = field(default_factory=list, repr=False)
    # Sessions created before this are refused (password change, disabled, role change).
    revoked_at: float = 0.0

    @property
    def needs_two_factor(self) -> bool:
        return bool(self.totp_secret) or Role(self.role) in TWO_FACTOR_REQUIRED

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> User:
        data = json.loads(raw)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class UserError(ValueError):
    pass


_hasher = PasswordHasher()
# Verified when the username is unknown, so the answer takes as long as for a real one.
_DUMMY_HASH = _hasher.hash("not a real password, only here for timing")


@cache
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *hints: str) -> str | None:
    """Why this password will not do (None: it will). ``hints``: the username, the
    shown name - words an attacker would try first."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password has at least {MIN_PASSWORD_LENGTH} characters"
    if password.casefold() in _common_passwords():
        return "that is one of the most common passwords"
    found = zxcvbn(password[:200], user_inputs=[h for h in (*hints, "helpline", "pmi") if h])
    if found["score"] < MIN_PASSWORD_SCORE:
        advice = found.get("feedback", {}).get("warning") or "add more words or characters"
        return f"that password is too easy to guess ({advice})"
    return None


def strong_password() -> str:
    """A random password that passes the checks (for a reset, or the first admin)."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


def _telegram_id(given: str) -> str:
    """A Telegram user id (digits), or empty; a username is refused - it can change."""
    given = given.strip()
    if given and not given.isdigit():
        raise UserError(
            "--telegram takes the numeric Telegram user id (/whoami in the operators' "
            "group tells it), not a username"
        )
    return given


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
        problem = password_problem(password, username, display_name)
        if problem:
            raise UserError(problem)
        user = User(
            username=username,
            role=role.value,
            display_name=display_name or username,
            password_hash=await asyncio.to_thread(_hasher.hash, password),
            locale=locale,
            telegram=_telegram_id(telegram),
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

    async def by_telegram(self, user_id: int | str | None) -> User | None:
        """The helpline user with this Telegram user id, if any (and not disabled)."""
        if user_id is None or not str(user_id).lstrip("-").isdigit():
            return None
        wanted = str(user_id)
        found = [u for u in await self.all() if u.telegram == wanted and not u.disabled]
        return found[0] if found else None

    async def count(self) -> int:
        return int(await self._redis.scard(self._keys.users()))

    async def set_password(self, username: str, password: str) -> None:
        """A new password; the user's sessions end (they sign in again)."""
        user = await self._existing(username)
        problem = password_problem(password, username, user.display_name)
        if problem:
            raise UserError(problem)
        user.password_hash = await asyncio.to_thread(_hasher.hash, password)
        user.revoked_at = time.time()
        await self.save(user)

    async def authenticate(self, username: str, password: str) -> User | None:
        """The user, if the password is right (and the account is not disabled). Slowing
        down guesses is bot/store/logins.py's job."""
        user = await self.get(username)
        try:
            await asyncio.to_thread(
                _hasher.verify, user.password_hash if user else _DUMMY_HASH, password
            )
        except (VerificationError, InvalidHashError):
            return None
        if user is None or user.disabled:
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = await asyncio.to_thread(_hasher.hash, password)
            await self.save(user)
        return user

    async def _existing(self, username: str) -> User:
        user = await self.get(username)
        if user is None:
            raise UserError(f"no user {username}")
        return user

    async def set_disabled(self, username: str, disabled: bool) -> User:
        user = await self._existing(username)
        user.disabled = disabled
        if disabled:
            user.revoked_at = time.time()
        await self.save(user)
        return user

    async def set_locale(self, username: str, locale: str) -> User:
        """The language the console speaks to this user."""
        user = await self._existing(username)
        user.locale = locale
        await self.save(user)
        return user

    async def set_role(self, username: str, role: Role) -> User:
        user = await self._existing(username)
        if user.role != role.value:
            user.role, user.revoked_at = role.value, time.time()
            await self.save(user)
        return user

    async def revoke_sessions(self, username: str) -> None:
        user = await self._existing(username)
        user.revoked_at = time.time()
        await self.save(user)

    async def delete(self, username: str) -> None:
        await self._existing(username)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.user(username))
            pipe.srem(self._keys.users(), username)
            await pipe.execute()

    # -- two-factor sign-in ----------------------------------------------------------

    async def enrol_totp(self, username: str, secret: str, step: int = 0) -> list[str]:
        """Turns TOTP on with ``secret`` (confirmed with the code of time ``step``, which
        cannot sign in again); returns new recovery codes, shown once - only their hashes
        are kept."""
        user = await self._existing(username)
        codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
        user.totp_secret, user.totp_last_step = secret, max(step, user.totp_last_step)
        user.recovery_codes = [_code_hash(c) for c in codes]
        await self.save(user)
        return codes

    async def clear_totp(self, username: str) -> None:
        """Two-factor sign-in off (or reset by an admin: the user enrols again)."""
        user = await self._existing(username)
        user.totp_secret, user.totp_last_step, user.recovery_codes = "", 0, []
        user.revoked_at = time.time()
        await self.save(user)

    async def second_factor(self, username: str, code: str) -> bool:
        """A current TOTP code (each accepted once) or an unused recovery code."""
        user = await self._existing(username)
        if not user.totp_secret:
            return False
        code = code.strip().replace(" ", "")
        step = totp_step(user.totp_secret, code)
        if step is not None and step > user.totp_last_step:
            user.totp_last_step = step
            await self.save(user)
            return True
        hashed = _code_hash(code)
        for kept in user.recovery_codes:
            if hmac.compare_digest(kept, hashed):
                user.recovery_codes.remove(kept)
                await self.save(user)
                return True
        return False


def totp_step(secret: str, code: str) -> int | None:
    """The time step a 6-digit code belongs to (now, or one step either side), or None."""
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time())
    for drift in (0, -30, 30):
        at = now + drift
        if hmac.compare_digest(totp.at(at), code):
            return at // 30
    return None
