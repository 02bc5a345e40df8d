"""The operator console: server-rendered pages under /console, on the helpline's app.

Sign-in, the live queue, cases, content editing and the audit log; translated (id/en)
through Babel.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from redis.exceptions import RedisError

from bot.casework import CaseworkError
from bot.console import account, auth
from bot.console.render import render
from bot.i18n import SUPPORTED, _, preferred_language, use_locale
from bot.sse import StreamLimits, TooManyStreams, client_gone, frame, open_stream, too_many
from bot.store.events import Events
from bot.store.feeds import EventFeed
from bot.store.users import User
from bot.templating import use_timezone

if TYPE_CHECKING:
    from bot.helpline import Helpline

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
HEARTBEAT_SECONDS = 15.0
# How long the secret shown to a user enrolling a second factor waits for their code.
# An open live stream checks that its session is still good this often.
SESSION_RECHECK_SECONDS = 3.0
# Live streams one console user may keep open (tabs, a phone).
STREAMS_PER_USER = 10
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Console:
    """Built with the helpline (every service it calls is there); its routes are added
    to the app by ``setup``."""

    def __init__(self, helpline: Helpline) -> None:
        settings = helpline.settings
        self.helpline = helpline
        self.settings = settings
        self.casework, self.users, self.audit = helpline.casework, helpline.users, helpline.audit
        self.presence, self.kb, self.kb_store = helpline.presence, helpline.kb, helpline.kb_store
        self.events: Events = helpline.events
        self.event_feed: EventFeed = helpline.event_feed
        # Sign-in, throttled audit entries and proposed examples (the console's stores).
        self.sessions, self.enrolments = helpline.console_sessions, helpline.enrolments
        self.logins, self.audit_throttle = helpline.logins, helpline.audit_throttle
        self.proposals = helpline.proposals
        self.stream_limits = StreamLimits(
            STREAMS_PER_USER, settings.streams_per_address, settings.streams_total
        )
        self._closing = helpline.shutting_down
        use_timezone(settings.timezone)

    def setup(self, app: web.Application) -> None:
        from bot.console import views

        app.middlewares.append(self._middleware)
        app.add_routes(views.routes())
        app.add_routes(account.routes())
        app.add_routes(
            [
                web.get("/console/login", self.login_page),
                web.post("/console/login", self.login),
                web.post("/console/logout", self.logout),
                web.get("/console/events", self.stream_events),
                web.static("/console/static", STATIC),
            ]
        )

    @web.middleware
    async def _middleware(self, request: web.Request, handler: auth.Handler) -> web.StreamResponse:
        if not request.path.startswith("/console") or request.path.startswith("/console/static"):
            return await handler(request)
        try:
            user, session = await auth.current_user(request, self.sessions, self.users)
        except RedisError as exc:
            log.error("console: Redis unavailable: %s", exc)
            return web.Response(status=503, text="The helpline's database is unavailable.")
        pending = None
        if session is not None and not session.complete:
            pending, user = user, None
        request[auth.SIGNED] = auth.Signed(
            user, session.csrf if session else "", self, pending, session.stage if session else ""
        )
        if pending is not None and request.path not in account.PARTIAL_PATHS:
            raise web.HTTPSeeOther(account.step_path(request))
        with use_locale(self._locale(request, user or pending)):
            try:
                if request.method == "POST" and request.path != "/console/login":
                    submitted = await auth.submitted_csrf(request)
                    if session is None or not auth.same(submitted, session.csrf):
                        log.warning("console: missing or forged CSRF token from %s", request.remote)
                        return await self._csrf_failed(request)
                if user is not None:
                    await self.presence.seen(user.username)
                response = await handler(request)
            except auth.Forbidden as exc:
                log.warning(
                    "console: %s (%s) may not %s", user and user.username, user and user.role, exc
                )
                response = render(
                    request,
                    "error.html",
                    status=403,
                    title=_("Not allowed"),
                    message=_("Your role does not allow this page."),
                )
            except CaseworkError as exc:
                response = render(
                    request, "error.html", status=exc.status, title=_("Not done"), message=str(exc)
                )
        if not response.prepared:
            response.headers.update(SECURITY_HEADERS)
            if request.query.get("lang") in SUPPORTED:
                auth.set_cookie(
                    response, auth.LANG_COOKIE, request.query["lang"], self.settings.cookie_secure
                )
        return response

    def _locale(self, request: web.Request, user: User | None) -> str:
        """A choice made on the page, else the user's own language, else the browser's."""
        chosen = request.query.get("lang") or request.cookies.get(auth.LANG_COOKIE)
        if chosen in SUPPORTED:
            return chosen
        if user is not None:
            return user.locale
        return preferred_language(request.headers.get("Accept-Language", ""))

    async def _csrf_failed(self, request: web.Request) -> web.Response:
        form = await request.post() if request.content_type.endswith("urlencoded") else {}
        kept = form.get("text") if isinstance(form.get("text"), str) else ""
        return render(
            request,
            "error.html",
            status=403,
            title=_("This form has expired"),
            message=_(
                "For your safety the form was not accepted (its security token is missing "
                "or wrong). Nothing was changed. Go back, reload the page and try again."
            ),
            kept=kept,
        )

    async def login_page(
        self, request: web.Request, message: str = "", status: int = 200
    ) -> web.Response:
        if auth.signed_user(request) is not None and not message:
            raise web.HTTPSeeOther("/console")
        token = secrets.token_urlsafe(24)
        response = render(
            request,
            "login.html",
            status=status,
            login_csrf=token,
            message=message,
            next=request.query.get("next", ""),
        )
        auth.set_cookie(response, auth.LOGIN_COOKIE, token, self.settings.cookie_secure)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        if not auth.same(str(form.get("csrf_token", "")), request.cookies.get(auth.LOGIN_COOKIE)):
            log.warning("console: login without a valid form token from %s", request.remote)
            return await self._csrf_failed(request)
        username = str(form.get("username", "")).strip()[:60]
        password = str(form.get("password", ""))[:1000]
        address = request.remote or "?"
        wait = await self.logins.wait(username, address)
        if wait is not None:
            log.warning("console: login attempts slowed (%s) from %s", wait.reason, address)
            return await self.login_page(request, account.wait_message(wait), status=429)
        user = await self.users.authenticate(username, password)
        if user is None:
            failures = await self.logins.failed(username, address)
            log.warning("console: failed login from %s", address)
            if failures == self.logins.free_tries:
                await self.audit.record(username, "login_slowed", remote=address)
            return await self.login_page(request, _("Wrong username or password."), status=401)
        await self.logins.succeeded(username, address)
        target = str(form.get("next", ""))
        if not target.startswith("/console") or target.startswith("//"):
            target = "/console"
        return await account.signed_in(request, self, user, target)

    async def logout(self, request: web.Request) -> web.StreamResponse:
        token = request.cookies.get(auth.SESSION_COOKIE)
        user = auth.signed_user(request)
        if token:
            await self.sessions.end(token)
        if user is not None:
            await self.presence.gone(user.username)
            await self.audit.record(user.username, "logout", remote=request.remote or "")
        response = web.HTTPSeeOther("/console/login")
        response.del_cookie(auth.SESSION_COOKIE, path="/console")
        raise response

    async def stream_events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: the console's live queue and case pages refresh on them.

        Only roles that work cases get them; the session is checked again while the
        stream is open, so a logout, an expiry, a disabled user or a changed role ends it
        within seconds. All open consoles share one Redis subscription (bot/store/feeds.py).
        """
        user = auth.signed_user(request)
        if user is None:
            raise web.HTTPUnauthorized(text="sign in first")
        if not auth.allowed(user, "cases"):
            raise auth.Forbidden("cases")
        token = request.cookies.get(auth.SESSION_COOKIE, "")
        try:
            with self.stream_limits.slot(user.username, request.remote or "?"):
                return await self._stream(request, user, token)
        except TooManyStreams as exc:
            log.warning("console events: %s (%s)", exc, user.username)
            return too_many(exc)

    async def _stream(self, request: web.Request, user: User, token: str) -> web.StreamResponse:
        response = await open_stream(request)
        loop = asyncio.get_running_loop()
        try:
            async with self.event_feed.listen() as events:
                await response.write(b"event: ready\ndata: {}\n\n")
                beat = checked = loop.time()
                while not self._closing.is_set() and not client_gone(request):
                    try:
                        event = await asyncio.wait_for(events.get(), 1.0)
                    except TimeoutError:
                        event = None
                    if event is not None:
                        await response.write(frame("helpline", event))
                    now = loop.time()
                    if now - checked >= SESSION_RECHECK_SECONDS:
                        checked = now
                        if not await self._still_allowed(token, user):
                            log.info("console events: %s's stream ended (session)", user.username)
                            break
                    if now - beat >= HEARTBEAT_SECONDS:
                        beat = now
                        await self.presence.seen(user.username)
                        await response.write(b": keep-alive\n\n")
        except (ConnectionResetError, RuntimeError):
            pass
        except RedisError as exc:
            log.warning("console events: %s", exc)
        return response

    async def _still_allowed(self, token: str, user: User) -> bool:
        """The session is still valid and the user may still see the queue, as before."""
        session = await self.sessions.get(token) if token else None
        if session is None or session.username != user.username:
            return False
        now = await self.users.get(user.username)
        return (
            now is not None
            and not now.disabled
            and now.role == user.role
            and auth.allowed(now, "cases")
        )
