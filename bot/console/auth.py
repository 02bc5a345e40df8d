"""Console sign-in: sessions in Redis, CSRF tokens, roles.

The session cookie holds a random token (only its hash is stored), is HttpOnly and
SameSite=Lax, and Secure when the helpline is served over HTTPS. Every POST carries
the session's CSRF token (a form field or the X-CSRF-Token header); the login form,
before there is a session, uses a double-submit token of its own.
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
}


def allowed(user: User | None, permission: str) -> bool:
    return user is not None and Role(user.role) in PERMISSIONS[permission]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ConsoleSession:
    username: str
    csrf: str
    created_at: float


class SessionStore:
    def __init__(self, redis: Redis, keys: Keys, hours: int) -> None:
        self._redis, self._keys, self._ttl = redis, keys, hours * 3600

    async def create(self, username: str) -> tuple[str, ConsoleSession]:
        token = secrets.token_urlsafe(32)
        session = ConsoleSession(username, secrets.token_urlsafe(32), time.time())
        await self._redis.set(
            self._keys.console_session(_hash(token)),
            json.dumps(session.__dict__),
            ex=self._ttl,
        )
        return token, session

    async def get(self, token: str) -> ConsoleSession | None:
        key = self._keys.console_session(_hash(token))
        raw = await self._redis.getex(key, ex=self._ttl)
        return ConsoleSession(**json.loads(raw)) if raw else None

    async def end(self, token: str) -> None:
        await self._redis.delete(self._keys.console_session(_hash(token)))


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
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None, None
    session = await sessions.get(token)
    if session is None:
        return None, None
    user = await users.get(session.username)
    if user is None or user.disabled:
        return None, None
    return user, session
