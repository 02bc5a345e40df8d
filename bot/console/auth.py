"""Console sign-in: sessions, CSRF tokens, roles.

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

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.store.console_sessions import ConsoleSession, ConsoleSessions
from bot.store.users import CASE_ROLES, SUPERVISING, Role, User, UserStore

if TYPE_CHECKING:
    from bot.console import Console

# bot/users_cli.py still imports the sessions store from here, by this name.

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
    console: Console
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
    request: web.Request, sessions: ConsoleSessions, users: UserStore
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
