"""The aiohttp app factory: one app for the channels' webhooks and pages, the web chat,
the operator console and the background workers.

The helpline (bot/helpline.py) is built once, when the app is; it connects and starts
its workers at start-up and stops them at shutdown, in one cleanup context.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.channels.webchat import MAX_BODY, WebChat
from bot.config import Settings
from bot.console import Console
from bot.helpline import Helpline
from bot.logs import current_id

HELPLINE = web.AppKey("helpline", Helpline)
CONSOLE = web.AppKey("console", Console)


async def _helpline_ctx(app: web.Application) -> AsyncIterator[None]:
    helpline = app[HELPLINE]
    await helpline.start()
    yield
    await helpline.stop()


async def alive(request: web.Request) -> web.Response:
    """Liveness: the process answers (it asks nothing of Redis or Rasa)."""
    return web.json_response({"alive": True})


async def ready(request: web.Request) -> web.Response:
    """Readiness: Redis and the Rasa servers, each asked with a 1 s limit. Only Redis
    makes it 503: without Rasa the helpline still works (the crisis lexicon reads every
    message), and a balancer that took every bot out for it would make that an outage."""
    helpline = request.app[HELPLINE]
    redis_ok, nlu_ok = await asyncio.gather(
        helpline.redis_answers(), helpline.nlu.is_ready(within=1.0)
    )
    status = 200 if redis_ok else 503
    return web.json_response({"redis": redis_ok, "nlu": nlu_ok}, status=status)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics: for a scraper with HELPLINE_METRICS_TOKEN, else this machine."""
    helpline = request.app[HELPLINE]
    token = helpline.settings.metrics_token
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token is not None and not hmac.compare_digest(given.encode(), token.encode()):
        raise web.HTTPUnauthorized(text="metrics: a bearer token is needed")
    if token is None and request.remote not in ("127.0.0.1", "::1"):
        raise web.HTTPForbidden(text="metrics: only from this machine (or set a token)")
    streams = {"console": request.app[CONSOLE].stream_limits.open}
    for channel in helpline.channels:
        if isinstance(channel, WebChat):
            streams["webchat"] = channel.open_streams
    body = await helpline.metrics_page(streams)
    return web.Response(body=body, content_type="text/plain", charset="utf-8")


async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/chat")


@web.middleware
async def _request_id(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every log line of a request carries one id (the caller's X-Request-Id if short)."""
    given = request.headers.get("X-Request-Id", "")
    current_id.set(given if 0 < len(given) <= 64 and given.isalnum() else secrets.token_hex(6))
    return await handler(request)


async def _plain_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """No software or version in the Server header."""
    response.headers["Server"] = "helpline"


async def _end_streams(app: web.Application) -> None:
    """Shutting down: open web chat streams end now instead of holding the server."""
    app[HELPLINE].begin_shutdown()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_request_id])
    helpline = app[HELPLINE] = Helpline(settings)
    for channel in helpline.channels:
        app.add_routes(channel.routes())
    app[CONSOLE] = Console(helpline)
    app[CONSOLE].setup(app)
    app.on_shutdown.append(_end_streams)
    app.on_response_prepare.append(_plain_server_header)
    app.cleanup_ctx.append(_helpline_ctx)
    app.router.add_get("/healthz", alive)
    app.router.add_get("/readyz", ready)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/", index)
    return app
