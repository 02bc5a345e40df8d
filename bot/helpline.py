"""The helpline's object graph, built in one place from the settings.

``Helpline(settings)`` builds every store, service, channel and background worker
without touching the network (Redis clients connect on first use), so the app factory
can add every channel's routes at once; ``start()`` connects and starts the workers,
``stop()`` stops them in the reverse order. Channels, the console and the operators'
group all take this one object; flows see its ``services``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from bot.alerts import AlertSender
from bot.casework import Casework
from bot.channels.base import Channel, ChannelKind
from bot.channels.telegram import TelegramChannel
from bot.channels.webchat import STREAM_READS, WebChat
from bot.channels.whatsapp import WhatsAppChannel
from bot.config import Settings
from bot.delivery import Delivery
from bot.dispatch import Dispatcher
from bot.followups import Followups
from bot.kb import KnowledgeBase
from bot.metrics import Metrics
from bot.nlu.client import NLUClient
from bot.nlu.late import LateChecks
from bot.queue_watch import QueueWatch, WaitingLimits
from bot.runner import InboxRunner
from bot.services import FlowSettings, Services
from bot.staffing import OnDuty, StaffedHours
from bot.store.alerts import Alerts
from bot.store.audit import AuditLog
from bot.store.audit_throttle import AuditThrottle
from bot.store.canned import CannedReplies
from bot.store.cases import CaseStore
from bot.store.connection import SENTINEL_SCHEME, answers, check, connect_redis
from bot.store.console_sessions import ENROLMENT_SECONDS, ConsoleSessions, TotpEnrolments
from bot.store.counters import MessageRates
from bot.store.erasure import Erasures
from bot.store.escalations import RedisEscalationQueue
from bot.store.events import Events, follow
from bot.store.evidence import EvidenceStore, WaitingEvidence
from bot.store.feeds import EventFeed, OutboxFeed
from bot.store.inbox import Inbox
from bot.store.intake import Intake
from bot.store.kb_store import KBStore
from bot.store.keys import Keys
from bot.store.late import KeptMessages
from bot.store.liveness import Liveness, process_name
from bot.store.logins import LoginGuard
from bot.store.outbox import Outbox
from bot.store.presence import Presence
from bot.store.proposals import ExampleProposals
from bot.store.replies import Replies
from bot.store.retention import Retention, Rules
from bot.store.sealing import Sealer
from bot.store.sends import Sends
from bot.store.sessions import SessionStore
from bot.store.timers import Timers
from bot.store.users import UserStore
from bot.tasks import stop_tasks

log = logging.getLogger(__name__)

# Every channel the helpline has: adding one is its folder under bot/channels/ and a
# line here.
CHANNELS: list[ChannelKind] = [WebChat, TelegramChannel, WhatsAppChannel]


class Helpline:
    def __init__(self, settings: Settings) -> None:
        if settings.redis_url is None:
            raise RuntimeError("no Redis URL: `helpline run` starts one, or set HELPLINE_REDIS_URL")
        self.settings = settings
        self.keys = keys = Keys(settings.key_prefix)
        # What workers tell us is sealed before it reaches Redis (bot/store/sealing.py).
        self.sealer = Sealer.load(settings.data_key, settings.data_dir)
        self.redis = redis = connect_redis(settings.redis_url)
        # Redis with Sentinel: accepted messages wait for a replica.
        self.replicated = settings.redis_url.startswith(SENTINEL_SCHEME)
        # Evidence files are bytes: a client of their own that does not decode replies.
        self.redis_binary = connect_redis(settings.redis_url, decode=False)
        # Live streams read on a small pool of their own.
        self.redis_streams = connect_redis(settings.redis_url, bounded=STREAM_READS + 2)
        self.metrics = Metrics()
        self.nlu = NLUClient(
            settings.nlu_url or "http://127.0.0.1:5005",
            timeout=settings.nlu_timeout_seconds,
            token=settings.nlu_token,
            metrics=self.metrics,
        )
        self.users = UserStore(redis, keys)
        self.audit = AuditLog(redis, keys)
        self.presence = Presence(redis, keys)
        self.events = Events(redis, keys)
        self.kb_store = KBStore(
            redis,
            keys,
            review_required=settings.kb_review_required,
            referral_review_required=settings.referral_review_required,
        )
        self.hours = StaffedHours.parse(settings.staffed_hours, settings.timezone)
        # The console's sign-in, throttled audit entries and proposed NLU examples.
        self.console_sessions = ConsoleSessions(
            redis, keys, settings.console_session_hours, settings.console_session_max_hours
        )
        self.enrolments = TotpEnrolments(redis, keys, ENROLMENT_SECONDS)
        self.logins = LoginGuard(redis, keys)
        self.audit_throttle = AuditThrottle(redis, keys)
        self.proposals = ExampleProposals(redis, keys)
        self.queue = RedisEscalationQueue(redis, keys, self.sealer)
        self.services = self._services()
        self.replies = Replies(redis, keys, self.sealer)
        # This process's name: its inbox consumer, its heartbeat, whose sends are whose.
        self.process = process_name()
        self.delivery = Delivery(
            self.services.outbox,
            self.replies,
            Sends(redis, keys, self.sealer),
            self.services.cases,
            process=self.process,
            metrics=self.metrics,
        )
        self._workers()
        self.alert_sender = AlertSender(
            self.services.alerts,
            self.delivery,
            self.services.sessions,
            self.services.outbox,
            process=self.process,
        )
        self.outbox_feed = OutboxFeed(redis, keys)
        self.event_feed = EventFeed(redis, keys)
        # Web chat streams read the outbox on the small pool of their own.
        self.stream_outbox = Outbox(self.redis_streams, keys, self.sealer)
        self._tasks: list[asyncio.Task[None]] = []
        # Set when the server begins to stop: open streams (web chat, console) end at once.
        self.shutting_down = asyncio.Event()
        self.channels: list[Channel] = [
            kind(self) for kind in CHANNELS if kind.configured(settings)
        ]
        for channel in self.channels:
            self.delivery.add(channel)

    def _services(self) -> Services:
        """What flows work with."""
        settings, redis, keys, sealer = self.settings, self.redis, self.keys, self.sealer
        cases = CaseStore(redis, keys, sealer)
        return Services(
            # Filled from the store at start (it may need importing from kb/ first).
            kb=KnowledgeBase({}, {}, {}),
            cases=cases,
            escalations=self.queue,
            sessions=SessionStore(
                redis,
                keys,
                flow_ttl=settings.session_ttl_seconds,
                profile_ttl_days=settings.profile_ttl_days,
                sealer=sealer,
            ),
            outbox=Outbox(redis, keys, sealer),
            on_duty=OnDuty(self.hours, self.presence, self.queue.recent_waits),
            evidence=EvidenceStore(self.redis_binary, keys, sealer),
            intake=Intake(redis, keys, cases, self.queue),
            waiting=WaitingEvidence(redis, keys, settings.evidence_waiting_days, sealer),
            timers=Timers(redis, keys),
            erasures=Erasures(redis, keys, settings.erase_rewrite_minutes * 60),
            alerts=Alerts(redis, keys),
            settings=FlowSettings(
                queue_notice_seconds=settings.queue_notice_minutes * 60,
                location_answer_seconds=settings.location_answer_seconds,
                code_words=settings.code_words,
            ),
        )

    def _workers(self) -> None:
        """Dispatch, casework and the background workers."""
        settings, redis, keys, services = self.settings, self.redis, self.keys, self.services
        self.late = LateChecks(KeptMessages(redis, keys, self.sealer), self.nlu)
        self.dispatcher = Dispatcher(
            services,
            self.nlu,
            self.delivery,
            MessageRates(redis, keys),
            rate_limit_per_minute=settings.rate_limit_per_minute,
            late=self.late,
        )
        self.casework = Casework(
            services,
            self.queue,
            self.delivery,
            self.users,
            CannedReplies(redis, keys),
            timezone=settings.timezone,
        )
        self.queue_watch = QueueWatch(
            self.queue,
            self.casework,
            self.events,
            self.presence,
            limits=WaitingLimits(
                reannounce_seconds=settings.reannounce_seconds,
                supervisor_after_seconds=settings.supervisor_after_minutes * 60,
                not_safe_supervisor_seconds=settings.not_safe_supervisor_seconds,
                human_seconds=settings.human_wait_minutes * 60,
                complaint_seconds=settings.complaint_wait_minutes * 60,
            ),
            hours=self.hours,
            metrics=self.metrics,
        )
        self.retention = Retention(
            redis, self.redis_binary, keys, services.cases, Rules.of(settings)
        )
        self.followups = Followups(
            self.dispatcher, services.timers, self.late, services.erasures, self.retention
        )
        self.runner = InboxRunner(
            Inbox(redis, keys, self.sealer, replicated=self.replicated),
            self.dispatcher,
            Liveness(redis, keys),
            self.replies,
            consumer=self.process,
            on_dead=self.delivery.take_over,
            metrics=self.metrics,
        )

    @property
    def kb(self) -> KnowledgeBase:
        return self.services.kb

    def channel(self, name: str) -> Channel:
        return self.delivery.channels[name]

    async def start(self) -> None:
        self.shutting_down.clear()
        await check(self.redis)
        await self.nlu.open()
        await self._load_kb()
        await self.delivery.start()
        await self.runner.start()
        await self.outbox_feed.start()
        await self.event_feed.start()
        for channel in self.channels:
            await channel.start()
        settings = self.settings
        self._tasks = [
            asyncio.create_task(self.queue_watch.run(settings.queue_watch_seconds)),
            asyncio.create_task(
                self.followups.run(settings.queue_watch_seconds, settings.nlu_recheck_seconds)
            ),
            asyncio.create_task(follow(self.events, self._reloader())),
            asyncio.create_task(self._index_cases()),
            asyncio.create_task(self.alert_sender.run()),
        ]

    async def _index_cases(self) -> None:
        """Cases stored before the case-list indexes existed get them (once, by one
        process); until then the case list and the reports miss those cases."""
        cases = self.services.cases
        try:
            if await cases.index.missing() and await cases.index.claim_rebuild():
                log.info("indexing the cases stored before the indexes existed...")
                log.info("indexed %d cases", await cases.reindex())
        except RedisError as exc:
            log.error("indexing the cases failed (run `helpline reindex`): %s", exc)

    async def stop(self) -> None:
        self.shutting_down.set()
        await stop_tasks(self._tasks)
        self._tasks = []
        await self.delivery.stop()
        for channel in reversed(self.channels):
            await channel.stop()
        await self.outbox_feed.stop()
        await self.event_feed.stop()
        await self.runner.stop()
        await self.nlu.close()
        for client in (self.redis_streams, self.redis_binary, self.redis):
            await client.aclose()

    def begin_shutdown(self) -> None:
        """The server is stopping: every open stream ends now, not at its next beat."""
        self.shutting_down.set()
        self.outbox_feed.wake_all()

    async def metrics_page(self, streams: dict[str, int]) -> bytes:
        """The Prometheus page, with the queue read from Redis now."""
        depth = {"critical": 0, "high": 0, "normal": 0}
        oldest = 0.0
        for entry in await self.queue.waiting():
            escalation = entry.escalation
            depth[escalation.priority] = depth.get(escalation.priority, 0) + 1
            if escalation.priority == "critical":
                oldest = max(oldest, entry.waited_seconds)
        for priority, count in depth.items():
            self.metrics.queue_depth.labels(priority).set(count)
        self.metrics.oldest_emergency.set(oldest)
        for kind, count in streams.items():
            self.metrics.open_streams.labels(kind).set(count)
        return self.metrics.page()

    async def redis_answers(self) -> bool:
        return await answers(self.redis)

    async def _load_kb(self) -> None:
        kb = await self.kb_store.knowledge_base()
        if kb is None:
            # A store that was never filled: the kb/ files are the seed.
            report = await self.kb_store.import_files()
            log.info("knowledge base imported from kb/: %d entries", report.added)
            kb = await self.kb_store.knowledge_base() or KnowledgeBase.load()
        self.kb.replace(kb)

    def _reloader(self) -> Callable[[dict[str, Any]], Awaitable[None]]:
        """Every bot process serves newly published content at once."""

        async def reload(event: dict[str, Any]) -> None:
            if event.get("type") != "kb":
                return
            fresh = await self.kb_store.knowledge_base()
            if fresh is not None:
                self.kb.replace(fresh)

        return reload
