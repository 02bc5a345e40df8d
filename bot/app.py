"""The aiohttp app factory: one app for webhooks, the web chat and background tasks.

Long-lived resources (the Redis pool, the NLU client's HTTP session, the dispatch
workers) are opened once at start-up and closed at shutdown, in cleanup contexts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.casework import Casework
from bot.channels.telegram import WEBHOOK_PATH, TelegramChannel
from bot.channels.webchat import MAX_BODY, STREAM_READS, WebChat
from bot.channels.whatsapp import WEBHOOK_PATH as WHATSAPP_PATH
from bot.channels.whatsapp import WhatsAppChannel
from bot.config import Settings
from bot.console import Console
from bot.delivery import Delivery
from bot.dispatch import Dispatcher
from bot.followups import Followups
from bot.kb import KnowledgeBase
from bot.nlu.client import NLUClient
from bot.nlu.late import LateChecks
from bot.queue_watch import QueueWatch, WaitingLimits
from bot.runner import InboxRunner
from bot.staffing import OnDuty, Presence, StaffedHours
from bot.store.audit import AuditLog
from bot.store.cases import CaseStore
from bot.store.erasure import Erasures
from bot.store.escalations import RedisEscalationQueue
from bot.store.events import Events, follow
from bot.store.evidence import EvidenceStore, WaitingEvidence
from bot.store.feeds import EventFeed, OutboxFeed
from bot.store.inbox import Inbox
from bot.store.intake import Intake
from bot.store.kb_store import KBStore
from bot.store.keys import Keys
from bot.store.outbox import Outbox
from bot.store.retention import Retention, Rules
from bot.store.sealing import Sealer
from bot.store.sessions import SessionStore
from bot.store.timers import Timers
from bot.store.users import UserStore
from bot.tasks import stop_tasks
from flows.base import FlowSettings, Services

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
REDIS_BINARY = web.AppKey("redis_binary", Redis)
REDIS_STREAMS = web.AppKey("redis_streams", Redis)
NLU = web.AppKey("nlu", NLUClient)
SERVICES = web.AppKey("services", Services)
RUNNER = web.AppKey("runner", InboxRunner)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
WEBCHAT = web.AppKey("webchat", WebChat)
CONSOLE = web.AppKey("console", Console)
TELEGRAM = web.AppKey("telegram", TelegramChannel)
WHATSAPP = web.AppKey("whatsapp", WhatsAppChannel)
CASEWORK = web.AppKey("casework", Casework)
QUEUE_WATCH = web.AppKey("queue_watch", QueueWatch)


def connect_redis(url: str, *, decode: bool = True, bounded: int | None = None) -> Redis:
    """A pool that rides out a Redis restart of a few seconds instead of failing at once.

    ``bounded``: at most this many connections, and a caller waits for a free one rather
    than failing - for the live streams, whose many clients must never take the
    connections the rest of the helpline uses."""
    options: dict[str, Any] = {
        "decode_responses": decode,
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=8),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "socket_connect_timeout": 2,
        "socket_timeout": 20,
        "health_check_interval": 30,
    }
    if bounded is None:
        return Redis.from_url(url, **options)
    pool = BlockingConnectionPool.from_url(url, max_connections=bounded, timeout=10, **options)
    return Redis(connection_pool=pool)


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if settings.redis_url is None:
        raise RuntimeError("no Redis URL: `helpline run` starts one, or set HELPLINE_REDIS_URL")
    redis = connect_redis(settings.redis_url)
    await redis.ping()
    app[REDIS] = redis
    # Evidence files are bytes: a client of their own that does not decode replies.
    app[REDIS_BINARY] = connect_redis(settings.redis_url, decode=False)
    # Live streams read on a small pool of their own.
    app[REDIS_STREAMS] = connect_redis(settings.redis_url, bounded=STREAM_READS + 2)
    yield
    await app[REDIS_STREAMS].aclose()
    await app[REDIS_BINARY].aclose()
    await redis.aclose()


async def _nlu_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    client = NLUClient(
        settings.nlu_url or "http://127.0.0.1:5005",
        timeout=settings.nlu_timeout_seconds,
        token=settings.nlu_token,
    )
    await client.open()
    app[NLU] = client
    yield
    await client.close()


async def _core_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, redis = app[SETTINGS], app[REDIS]
    keys = Keys(settings.key_prefix)
    # What workers tell us is sealed before it reaches Redis (bot/store/sealing.py).
    sealer = Sealer.load(settings.data_key, settings.data_dir)
    outbox = Outbox(redis, keys, sealer)
    queue = RedisEscalationQueue(redis, keys, sealer)
    presence = Presence(redis, keys)
    hours = StaffedHours.parse(settings.staffed_hours, settings.timezone)
    kb_store = KBStore(
        redis,
        keys,
        review_required=settings.kb_review_required,
        referral_review_required=settings.referral_review_required,
    )
    kb = await kb_store.knowledge_base()
    if kb is None:
        # A store that was never filled: the kb/ files are the seed.
        report = await kb_store.import_files()
        log.info("knowledge base imported from kb/: %d entries", report.added)
        kb = await kb_store.knowledge_base() or KnowledgeBase.load()
    cases = CaseStore(redis, keys, sealer)
    services = Services(
        kb=kb,
        cases=cases,
        escalations=queue,
        sessions=SessionStore(
            redis,
            keys,
            flow_ttl=settings.session_ttl_seconds,
            profile_ttl_days=settings.profile_ttl_days,
            sealer=sealer,
        ),
        outbox=outbox,
        on_duty=OnDuty(hours, presence, queue.recent_waits),
        evidence=EvidenceStore(app[REDIS_BINARY], keys, sealer),
        intake=Intake(redis, keys, cases, queue),
        waiting=WaitingEvidence(redis, keys, settings.evidence_waiting_days, sealer),
        timers=Timers(redis, keys),
        erasures=Erasures(redis, keys, settings.erase_rewrite_minutes * 60),
        settings=FlowSettings(
            queue_notice_seconds=settings.queue_notice_minutes * 60,
            location_answer_seconds=settings.location_answer_seconds,
            code_words=settings.code_words,
        ),
    )
    delivery = Delivery(outbox)
    late = LateChecks(redis, keys, app[NLU], sealer)
    dispatcher = Dispatcher(
        redis,
        keys,
        services,
        app[NLU],
        delivery,
        rate_limit_per_minute=settings.rate_limit_per_minute,
        late=late,
    )
    users = UserStore(redis, keys)
    casework = Casework(services, queue, delivery, users)
    watch = QueueWatch(
        redis,
        keys,
        queue,
        casework,
        limits=WaitingLimits(
            reannounce_seconds=settings.reannounce_seconds,
            supervisor_after_seconds=settings.supervisor_after_minutes * 60,
            not_safe_supervisor_seconds=settings.not_safe_supervisor_seconds,
            human_seconds=settings.human_wait_minutes * 60,
            complaint_seconds=settings.complaint_wait_minutes * 60,
        ),
        hours=hours,
    )
    retention = Retention(
        redis,
        app[REDIS_BINARY],
        keys,
        cases,
        Rules.of(settings),
    )
    followups = Followups(dispatcher, services.timers, late, services.erasures, retention)
    runner = InboxRunner(Inbox(redis, keys, sealer), dispatcher)
    telegram = None
    if settings.telegram_token:
        telegram = TelegramChannel(
            settings, redis, keys, runner, delivery, services.evidence, casework, users
        )
        app[TELEGRAM] = telegram
    whatsapp = None
    if settings.whatsapp_enabled:
        whatsapp = WhatsAppChannel(
            settings,
            redis,
            keys,
            runner,
            delivery,
            services.evidence,
            services.cases,
            services.sessions,
            sealer,
        )
        app[WHATSAPP] = whatsapp
    await runner.start()
    if telegram is not None:
        await telegram.start()
    if whatsapp is not None:
        await whatsapp.start()
    watching = asyncio.create_task(watch.run(settings.queue_watch_seconds))
    following = asyncio.create_task(
        followups.run(settings.queue_watch_seconds, settings.nlu_recheck_seconds)
    )
    reloading = asyncio.create_task(follow(Events(redis, keys), _reloader(kb_store, kb)))
    app[SERVICES], app[DISPATCHER], app[RUNNER] = services, dispatcher, runner
    app[CASEWORK], app[QUEUE_WATCH] = casework, watch
    outbox_feed = OutboxFeed(redis, keys)
    event_feed = EventFeed(redis, keys)
    await outbox_feed.start()
    await event_feed.start()
    app[WEBCHAT].bind(
        redis,
        keys,
        runner,
        outbox,
        services.evidence,
        settings,
        stream_outbox=Outbox(app[REDIS_STREAMS], keys, sealer),
        feed=outbox_feed,
    )
    delivery.register("webchat", None, app[WEBCHAT].erase)
    app[CONSOLE].bind(
        settings,
        redis,
        keys,
        casework,
        users,
        AuditLog(redis, keys),
        presence,
        services.kb,
        event_feed,
    )
    app[CONSOLE].kb_store = kb_store
    yield
    await stop_tasks([watching, following, reloading])
    if telegram is not None:
        await telegram.stop()
    if whatsapp is not None:
        await whatsapp.stop()
    await app[CONSOLE].close()
    app[WEBCHAT].close()
    await outbox_feed.stop()
    await event_feed.stop()
    await runner.stop()


def _reloader(store: KBStore, kb: KnowledgeBase) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """Every bot process serves newly published content at once."""

    async def reload(event: dict[str, Any]) -> None:
        if event.get("type") == "kb" and (fresh := await store.knowledge_base()) is not None:
            kb.replace(fresh)

    return reload


async def health(request: web.Request) -> web.Response:
    app = request.app
    redis_ok = True
    try:
        await app[REDIS].ping()
    except Exception:
        redis_ok = False
    nlu_ok = await app[NLU].is_ready()
    status = 200 if redis_ok else 503
    return web.json_response({"redis": redis_ok, "nlu": nlu_ok}, status=status)


async def telegram_webhook(request: web.Request) -> web.Response:
    return await request.app[TELEGRAM].webhook(request)


async def whatsapp_verify(request: web.Request) -> web.Response:
    return await request.app[WHATSAPP].verify(request)


async def whatsapp_receive(request: web.Request) -> web.Response:
    return await request.app[WHATSAPP].receive(request)


async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/chat")


async def _plain_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """No software or version in the Server header."""
    response.headers["Server"] = "helpline"


async def _end_streams(app: web.Application) -> None:
    """Shutting down: open web chat streams end now instead of holding the server."""
    app[WEBCHAT].close()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[SETTINGS] = settings
    app[WEBCHAT] = WebChat()
    app.add_routes(app[WEBCHAT].routes())
    app.on_shutdown.append(_end_streams)
    app.on_response_prepare.append(_plain_server_header)
    app[CONSOLE] = Console()
    app[CONSOLE].setup(app)
    app.cleanup_ctx.extend([_redis_ctx, _nlu_ctx, _core_ctx])
    if settings.telegram_token and settings.telegram_webhook_secret:
        app.router.add_post(WEBHOOK_PATH, telegram_webhook)
    if settings.whatsapp_enabled:
        app.router.add_get(WHATSAPP_PATH, whatsapp_verify)
        app.router.add_post(WHATSAPP_PATH, whatsapp_receive)
    app.router.add_get("/healthz", health)
    app.router.add_get("/", index)
    return app
