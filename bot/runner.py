"""Dispatch workers: take accepted messages from the inbox, handle them, acknowledge.

A message is acknowledged only after it was handled, so one taken by a process that
died is taken over by another. Each process renews a heartbeat every half second
(bot/store/liveness.py); what a process without one had taken is taken over within
about two seconds, not after a long idle timeout.

Order per conversation holds across processes and crashes: the inbox keeps each
conversation's unhandled messages in the order accepted, and a message waits while an
older one of its conversation is still in someone's hands (another process, or one that
died and is being taken over) - for at most ORDER_WAIT_SECONDS, so a message that cannot
be handled (a bug) never holds an emergency back. Within a process, one reader queues
entries per sender, each sender's handled one after the other, oldest first; different
senders side by side, up to ``workers`` at a time.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from bot.dispatch import Dispatcher
from bot.logs import current_id, masked
from bot.messages import Inbound
from bot.metrics import Metrics
from bot.store.inbox import Inbox, entry_order
from bot.store.liveness import BEAT_EVERY, Liveness, process_name
from bot.store.replies import Replies
from bot.tasks import being_cancelled, every, stop_tasks

log = logging.getLogger(__name__)

# A message this process itself left unacknowledged (a bug) is tried again after this.
RECLAIM_IDLE_MS = 60_000
# How often a process looks for entries delivered to it that it never saw.
LOST_READS_EVERY = 1.0
# How often a process looks for processes that died.
TAKE_OVER_EVERY = 0.5
# A consumer with no heartbeat, nothing pending and no read for this long is forgotten.
FORGET_AFTER_MS = 10_000
# The longest a message waits for an older one of its conversation.
ORDER_WAIT_SECONDS = 15.0

Queued = tuple[tuple[int, int], str, Inbound]


class InboxRunner:
    def __init__(
        self,
        inbox: Inbox,
        dispatcher: Dispatcher,
        liveness: Liveness,
        replies: Replies,
        *,
        workers: int = 8,
        reclaim_idle_ms: int = RECLAIM_IDLE_MS,
        consumer: str | None = None,
        on_dead: Callable[[str], Awaitable[object]] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """``consumer``: this process's name (bot/store/liveness.py); ``on_dead``: what
        else a process that died held is taken over by (the replies it was sending), before
        its messages are."""
        self.inbox, self.dispatcher, self.liveness = inbox, dispatcher, liveness
        self.replies = replies
        self.metrics = metrics or Metrics()
        self._reclaim_idle_ms = reclaim_idle_ms
        self.consumer = consumer or process_name()
        self._on_dead = on_dead
        self._workers = workers
        self._slots = asyncio.Semaphore(workers)
        # Entries read but not yet handled, per sender, oldest first.
        self._queues: dict[str, list[Queued]] = {}
        self._queued: set[str] = set()
        # Every entry this process has routed and not yet acknowledged: one in its hands
        # that is not here was delivered to it without its knowing (the reply to a read
        # was lost with its connection, and redis-py's retry hid that).
        self._known: set[str] = set()
        self._room = asyncio.Event()
        self._drains: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.inbox.ensure_group()
        await self.liveness.beat(self.consumer)
        self._tasks = [
            asyncio.create_task(every(BEAT_EVERY, self._beat, "heartbeat")),
            asyncio.create_task(self._read()),
            asyncio.create_task(self._reclaim()),
            asyncio.create_task(every(TAKE_OVER_EVERY, self._take_over, "inbox take-over")),
        ]

    async def stop(self) -> None:
        await stop_tasks(self._tasks)
        await stop_tasks(list(self._drains))
        self._tasks, self._drains = [], set()
        self._queues.clear()
        self._queued.clear()
        self._known.clear()
        try:
            # What is left unacknowledged is taken over at once, not after a lapse.
            await self.liveness.gone(self.consumer)
        except RedisError as exc:
            log.warning("could not say this process is gone: %s", exc)

    async def submit(self, inbound: Inbound, shown: str | None = None) -> str | None:
        """Accept a message durably; None when it is a redelivery of one already taken.
        ``shown``: its transcript entry, added in the same step (Inbox.accept)."""
        try:
            entry = await self.inbox.accept(inbound, shown)
        except RedisError:
            self.metrics.redis_errors.inc()
            raise
        if entry is not None:
            self.metrics.messages_in.labels(inbound.channel).inc()
        return entry

    async def seen(self, channel: str, user_id: str, message_id: str) -> bool:
        """True for a redelivery of a message already accepted (its file is not fetched
        again)."""
        return await self.inbox.seen(channel, user_id, message_id)

    async def _handle(self, entry_id: str, inbound: Inbound) -> None:
        current_id.set(entry_id)  # every log line of this message carries its id
        if await self.replies.get(entry_id) is not None:
            # Answered by a process that died before acknowledging it: not twice.
            log.warning("%s was answered before a crash; not answering again", entry_id)
        else:
            await self.dispatcher.handle(inbound, entry_id)
            self.metrics.reply_seconds.labels(inbound.channel).observe(
                max(0.0, time.time() - inbound.received_at)
            )
        await self.inbox.ack(entry_id, inbound.sender)
        self._known.discard(entry_id)

    async def _handle_or_leave(self, entry_id: str, inbound: Inbound) -> None:
        """Handle; on a bug, log and leave it unacknowledged so it is claimed again later.
        Redis errors propagate to the loop that retries."""
        try:
            await self._handle(entry_id, inbound)
        except RedisError:
            raise
        except Exception as exc:
            if being_cancelled():
                raise asyncio.CancelledError from exc
            log.exception("handling %s from %s failed", entry_id, masked(inbound.sender))

    def _route(self, entry_id: str, inbound: Inbound) -> None:
        if entry_id in self._queued:
            return
        self._queued.add(entry_id)
        self._known.add(entry_id)
        queue = self._queues.get(inbound.sender)
        if queue is None:
            queue = self._queues[inbound.sender] = []
            task = asyncio.create_task(self._drain(inbound.sender, queue))
            self._drains.add(task)
            task.add_done_callback(self._drains.discard)
        # A message taken over from a dead process goes before newer ones.
        bisect.insort(queue, (entry_order(entry_id), entry_id, inbound), key=lambda q: q[0])

    async def _next_in_order(self, entry_id: str, sender: str) -> bool:
        """False while an older message of this conversation is still in someone's
        hands, and not for longer than ORDER_WAIT_SECONDS."""
        first = await self.inbox.first_of(sender)
        if first is None or first == entry_id or entry_order(first) > entry_order(entry_id):
            return True
        waited = time.time() - entry_order(first)[0] / 1000
        if waited > ORDER_WAIT_SECONDS:
            log.warning("an older message of %s is stuck; not waiting for it", masked(sender))
            return True
        return False

    async def _drain(self, sender: str, queue: list[Queued]) -> None:
        """One sender's messages, one after the other, oldest first."""
        try:
            while queue:
                _, entry_id, inbound = queue[0]
                try:
                    if not await self._next_in_order(entry_id, sender):
                        await asyncio.sleep(0.1)
                        continue
                    async with self._slots:
                        await self._handle_or_leave(entry_id, inbound)
                except RedisError as exc:
                    if being_cancelled():
                        raise asyncio.CancelledError from exc
                    self.metrics.redis_errors.inc()
                    log.warning("inbox unavailable, retrying %s: %s", entry_id, exc)
                    await asyncio.sleep(1)
                    continue
                queue.remove(next(q for q in queue if q[1] == entry_id))
                self._queued.discard(entry_id)
                self._room.set()
        finally:
            if self._queues.get(sender) is queue:
                del self._queues[sender]
            for _, entry_id, _inbound in queue:
                self._queued.discard(entry_id)

    async def _read(self) -> None:
        limit = self._workers * 8
        # After an outage: a read Redis carried out whose reply was lost (the connection
        # died with Redis) left entries delivered to this process that it never saw.
        recovering = False
        checked = time.monotonic()
        while True:
            try:
                if recovering:
                    await self._recover()
                    recovering = False
                elif time.monotonic() - checked >= LOST_READS_EVERY:
                    await self._lost_reads()
                    checked = time.monotonic()
                while len(self._queued) >= limit:
                    self._room.clear()
                    await self._room.wait()
                for entry_id, inbound in await self.inbox.read(
                    self.consumer, count=limit - len(self._queued)
                ):
                    self._route(entry_id, inbound)
            except RedisError as exc:
                if being_cancelled():
                    raise asyncio.CancelledError from exc
                log.warning("inbox unavailable, retrying: %s", exc)
                recovering = True
                await asyncio.sleep(1)

    async def _recover(self) -> None:
        """Routes what Redis delivered to this process and it is not handling: in seconds
        after Redis is back, not after the 60 s backstop, and in order."""
        found = [e for e in await self.inbox.own_pending(self.consumer) if e[0] not in self._known]
        if found:
            log.warning("found %d messages delivered while Redis went away", len(found))
        for entry_id, inbound in found:
            self._route(entry_id, inbound)

    async def _lost_reads(self) -> None:
        """Entries delivered to this process that it never saw: routed now, not after
        the 60 s backstop. Redis went away for less than redis-py's retries ride out, and
        the reply to a read that had taken them went with its connection."""
        ids = await self.inbox.pending_ids(self.consumer)
        if any(entry_id not in self._known for entry_id in ids):
            await self._recover()

    async def _beat(self) -> None:
        await self.liveness.beat(self.consumer)

    async def _take_over(self) -> None:
        """What processes that died had taken is taken over within seconds; consumers
        of processes gone for good leave the group."""
        consumers = await self.inbox.consumers()
        others = [c for c in consumers if c != self.consumer]
        alive = await self.liveness.alive(others)
        for dead in (c for c in others if c not in alive):
            if self._on_dead is not None:
                await self._on_dead(dead)
            pending, idle_ms = consumers[dead]
            taken = await self.inbox.take_over(dead, self.consumer) if pending else []
            if taken:
                log.warning("took over %d messages of a process that died", len(taken))
            for entry_id, inbound in taken:
                self._route(entry_id, inbound)
            # Only with nothing left in its hands (else its messages would be dropped
            # with it), and not one that is only starting up.
            if len(taken) >= pending and idle_ms > FORGET_AFTER_MS:
                await self.inbox.forget_consumer(dead)

    async def _reclaim(self) -> None:
        """Backstop: a message left unacknowledged for long (after a bug) is tried again."""
        while True:
            try:
                for entry_id, inbound in await self.inbox.reclaim(
                    self.consumer, self._reclaim_idle_ms
                ):
                    if entry_id not in self._queued:
                        log.warning("reclaimed %s from %s", entry_id, masked(inbound.sender))
                        self._route(entry_id, inbound)
            except RedisError as exc:
                if being_cancelled():
                    raise asyncio.CancelledError from exc
                log.warning("inbox reclaim failed: %s", exc)
            await asyncio.sleep(self._reclaim_idle_ms / 4000)
