"""Console sign-in: sessions in Redis, CSRF tokens, roles.

The session cookie holds a random token (only its hash is stored), is HttpOnly and
SameSite=Lax, and Secure when the helpline is served over HTTPS. Every POST carries
the session's CSRF token (a form field or the X-CSRF-Token header); the login form,
before there is a session, uses a double-submit token of its own.

A session lasts ``hours`` from its last use and never more than ``max_hours`` in all. It
starts at a stage: "full", or, after the password of a user with two-factor sign-in,
"second_factor" (only the code page is open) or "enrol" (an admin or supervisor who has
not set it up yet: only the enrolment page). A session older than its user's
``revoked_at`` (password change, disabled, role change) is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from bot.store.keys import Keys
from bot.store.users import CASE_ROLES, SUPERVISING, Role, User, UserStore

SESSION_COOKIE = "helpline_console"
LOGIN_COOKIE = "helpline_login"
LANG_COOKIE = "helpline_console_lang"

PERMISSIONS: dict[str, frozenset[Role]] = {
    "cases": CASE_ROLES,
    "supervise": SUPERVISING,
    "content": frozenset({Role.EDITOR, Role.ADMIN}),
    "users": frozenset({Role.ADMIN}),
    "account": frozenset(Role),
}


def allowed(user: User | None, permission: str) -> bool:
    return user is not None and Role(user.role) in PERMISSIONS[permission]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


FULL = "full"
SECOND_FACTOR = "second_factor"
ENROL = "enrol"


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


class SessionStore:
    def __init__(self, redis: Redis, keys: Keys, hours: float, max_hours: float = 72) -> None:
        self._redis, self._keys = redis, keys
        self._ttl = max(1, int(hours * 3600))
        self._max = max_hours * 3600

    async def create(
        self, username: str, stage: str = FULL, remote: str = ""
    ) -> tuple[str, ConsoleSession]:
        token = secrets.token_urlsafe(32)
        hashed = _hash(token)
        session = ConsoleSession(
            username, secrets.token_urlsafe(32), time.time(), stage, remote, hashed
        )
        index = self._keys.console_sessions_of(username)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.console_session(hashed), json.dumps(session.__dict__), ex=self._ttl)
            pipe.zadd(index, {hashed: session.created_at})
            pipe.expire(index, int(self._max) + 3600)
            await pipe.execute()
        return token, session

    async def get(self, token: str) -> ConsoleSession | None:
        key = self._keys.console_session(_hash(token))
        raw = await self._redis.getex(key, ex=self._ttl)
        if not raw:
            return None
        session = ConsoleSession(**json.loads(raw))
        if time.time() - session.created_at > self._max:
            await self.end(token)  # past its absolute lifetime, however recently used
            return None
        return session

    async def end(self, token: str) -> None:
        await self._end_hash(_hash(token))

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


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


async def submitted_csrf(request: web.Request) -> str | None:
    header = request.headers.get("X-CSRF-Token")
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Signed:
    """Who is asking: set on every console request by the console's middleware."""

    user: User | None
    csrf: str
    console: Any
    # A user signed in with their password only, still to give their second factor
    # (or to enrol one): they may open only those pages.
    pending: User | None = None
    stage: str = ""


SIGNED = web.RequestKey("console_signed", Signed)


def signed_user(request: web.Request) -> User | None:
    signed = request.get(SIGNED)
    return signed.user if signed else None


def requires(permission: str) -> Callable[[Handler], Handler]:
    """The signed-in user must hold a role with this permission: 403 otherwise."""

    def wrap(handler: Handler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            user = signed_user(request)
            if user is None:
                if request.method == "GET" and "fragment" not in request.path:
                    raise web.HTTPSeeOther(f"/console/login?next={request.path_qs}")
                raise web.HTTPUnauthorized(text="sign in first")
            if not allowed(user, permission):
                raise Forbidden(permission)
            return await handler(request)

        checked.__name__ = handler.__name__
        return checked

    return wrap


class Forbidden(Exception):
    def __init__(self, permission: str) -> None:
        super().__init__(permission)
        self.permission = permission


def set_cookie(
    response: web.StreamResponse, name: str, value: str, secure: bool, **kw: Any
) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="Lax",
        secure=secure,
        path="/console",
        **kw,
    )


async def current_user(
    request: web.Request, sessions: SessionStore, users: UserStore
) -> tuple[User | None, ConsoleSession | None]:
    """The session's user, if the session is valid (at whatever stage it is)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None, None
    session = await sessions.get(token)
    if session is None:
        return None, None
    user = await users.get(session.username)
    if user is None or user.disabled or session.created_at <= user.revoked_at:
        await sessions.end(token)
        return None, None
    return user, session
