"""Sends replies back through the worker's own channel.

Every reply is first kept in the conversation's outbox (the record of what was said,
and what the web chat reads); then the worker's channel sends it. A reply for Telegram or
WhatsApp is also kept, in the same step, until the platform has taken it
(bot/store/sends.py): a process that dies mid-send leaves it for the process that takes
over, and a send the platform refused for the moment (a network error, the platform down)
is tried again - 2, 4, 8 ... s later, at most every RETRY_MAX_SECONDS, for
GIVE_UP_SECONDS. Per worker, replies go out in order: while one waits to be tried again,
the next ones wait behind it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from bot.channels.base import Channel, SendFailed
from bot.logs import masked
from bot.messages import Outbound
from bot.metrics import Metrics
from bot.store.cases import CaseStore
from bot.store.outbox import Outbox
from bot.store.replies import Replies
from bot.store.sends import Send, Sends, new_send
from bot.tasks import every, stop_tasks

log = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 2.0
RETRY_MAX_SECONDS = 60.0
# After this, a reply the platform keeps refusing is given up on (the operator sees it on
# the worker's case).
GIVE_UP_SECONDS = 86400.0
RETRY_EVERY = 0.5


class Delivery:
    def __init__(
        self,
        outbox: Outbox,
        replies: Replies,
        sends: Sends,
        cases: CaseStore,
        *,
        process: str,
        metrics: Metrics | None = None,
    ) -> None:
        """``process``: this process's name (its inbox consumer): whose sends are whose."""
        self._outbox, self._replies, self._sends, self._cases = outbox, replies, sends, cases
        self.process = process
        self.metrics = metrics or Metrics()
        self.channels: dict[str, Channel] = {}
        # Per worker, the sends not yet taken by the platform, oldest first.
        self._lines: dict[str, list[Send]] = {}
        # Workers whose line is being sent now, and those waiting to be tried again
        # (when, and the wait after that).
        self._sending: set[str] = set()
        self._retry: dict[str, tuple[float, float]] = {}
        # Sends whose progress could not be written (Redis away): written when it is back.
        self._unmarked: dict[str, Send] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None

    def add(self, channel: Channel) -> None:
        self.channels[channel.name] = channel

    async def start(self) -> None:
        self._loop = asyncio.create_task(every(RETRY_EVERY, self._again, "sending again"))

    async def stop(self) -> None:
        """What is not sent yet stays kept: the process that takes over sends it."""
        await stop_tasks([t for t in [self._loop, *self._tasks] if t is not None])
        self._loop, self._tasks = None, set()

    def _of(self, sender: str) -> tuple[Channel | None, str]:
        name, _, user_id = sender.partition(":")
        return self.channels.get(name), user_id

    async def window_closed(self, sender: str) -> bool:
        """True when only a template can reach this worker now."""
        channel, user_id = self._of(sender)
        return channel is not None and not await channel.window_open(user_id)

    async def template(self, sender: str, locale: str) -> bool:
        """The channel's approved template; False when the channel has none."""
        channel, user_id = self._of(sender)
        return channel is not None and await channel.send_template(user_id, locale)

    async def erase(self, sender: str) -> None:
        channel, user_id = self._of(sender)
        self._lines.pop(sender, None)
        self._retry.pop(sender, None)
        try:
            await self._sends.forget(sender)
        except RedisError as exc:
            log.error("could not drop the replies waiting for %s: %s", masked(sender), exc)
        if channel is None:
            return
        try:
            await channel.erase(user_id)
        except Exception:
            log.exception("could not erase the %s chat of %s", channel.name, masked(sender))

    def sends_itself(self, sender: str) -> bool:
        """True for a channel that sends on its own (not only through the outbox)."""
        channel, _ = self._of(sender)
        return channel is not None and not channel.reads_outbox

    async def forget(self, sender: str, after_seconds: int) -> None:
        """What is left of an erased conversation (its last reply) goes after a while."""
        await self._outbox.expire(sender, after_seconds)

    async def deliver(
        self,
        sender: str,
        messages: Sequence[Outbound],
        *,
        record: bool = True,
        answering: str | None = None,
    ) -> None:
        """Keeps the replies (every channel's are kept in the outbox: the record of what
        was said), marks the message ``answering`` answered and keeps them until they are
        sent, all in one step; then sends them through the worker's channel."""
        channel, _ = self._of(sender)
        send = None
        if channel is not None and messages and not channel.reads_outbox:
            send = new_send(sender, messages)
        also = self._staging(send)
        if record:
            await self._outbox.record(sender, messages, answering=answering, also=also)
        elif answering is not None:
            await self._replies.put(answering, sender, messages, also=also)
        elif send is not None:
            await self._sends.keep(self.process, send)
        if channel is not None and messages:
            self.metrics.messages_out.labels(channel.name).inc(len(messages))
        if send is not None:
            self._lines.setdefault(sender, []).append(send)
            if sender not in self._sending and sender not in self._retry:
                await self._flush(sender)
            # Otherwise it goes out behind the ones before it.

    def _staging(self, send: Send | None) -> Callable[[Pipeline], None] | None:
        if send is None:
            return None
        return lambda pipe: self._sends.stage(pipe, self.process, send)

    async def take_over(self, dead: str) -> int:
        """What a process that died was sending goes out from here, oldest first."""
        taken = await self._sends.take_over(dead, self.process)
        for send in taken:
            self._lines.setdefault(send.sender, []).append(send)
        for sender in {s.sender for s in taken}:
            self._lines[sender].sort(key=lambda s: s.id)  # theirs among this one's, by age
            self._retry.pop(sender, None)
            self._kick(sender)
        if taken:
            log.warning("sending %d replies of a process that died", len(taken))
        return len(taken)

    def _kick(self, sender: str) -> None:
        if sender in self._sending:
            return
        task = asyncio.create_task(self._flush(sender))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _again(self) -> None:
        """Sends due to be tried again, and progress Redis could not take before."""
        for send in list(self._unmarked.values()):
            await self._sends.progress(self.process, send)
            self._unmarked.pop(send.id, None)
        now = time.monotonic()
        for sender, (when, _) in list(self._retry.items()):
            if when <= now:
                self._kick(sender)

    async def _flush(self, sender: str) -> None:
        """One worker's line, in order, until it is empty or the platform refuses."""
        self._sending.add(sender)
        try:
            retrying = sender in self._retry
            line = self._lines.get(sender, [])
            while line:
                send = line[0]
                if retrying and not await self._sends.kept(self.process, send):
                    line.pop(0)  # dropped meanwhile (the worker erased their data)
                    continue
                if not await self._send(send):
                    self._later(sender)
                    return
                line.pop(0)
                self._retry.pop(sender, None)
                retrying = False
            if self._lines.get(sender) is line:
                del self._lines[sender]
        except RedisError as exc:
            log.warning("sending to %s waits for Redis: %s", masked(sender), exc)
            self._later(sender)
        finally:
            self._sending.discard(sender)

    def _later(self, sender: str) -> None:
        _, wait = self._retry.get(sender, (0.0, RETRY_FIRST_SECONDS / 2))
        wait = min(wait * 2, RETRY_MAX_SECONDS)
        self._retry[sender] = (time.monotonic() + wait, wait)

    async def _send(self, send: Send) -> bool:
        """False when the platform refused for the moment (try again later)."""
        channel, user_id = self._of(send.sender)
        if channel is None:
            log.error("no channel for a reply to %s; dropped", masked(send.sender))
            await self._sends.drop(self.process, send)
            return True
        while send.left:
            try:
                await channel.send(user_id, send.left[:1], send.locale)
            except SendFailed as exc:
                if exc.later and time.time() - send.started < GIVE_UP_SECONDS:
                    self.metrics.send_failures.labels(channel.name, "retry").inc()
                    log.warning("%s did not take a reply; trying again: %s", channel.name, exc)
                    return False
                await self._given_up(send, channel.name, str(exc))
                return True
            send.done += 1
            try:
                await self._sends.progress(self.process, send)
            except RedisError as exc:
                log.warning("could not note a reply as sent (noted later): %s", exc)
                self._unmarked[send.id] = send
        return True

    async def _given_up(self, send: Send, channel: str, detail: str) -> None:
        self.metrics.send_failures.labels(channel, "failed").inc()
        log.error("a reply to %s could not be sent: %s", masked(send.sender), detail)
        await self._sends.drop(self.process, send)
        case = await self._cases.open_case_of(send.sender)
        if case is not None:  # the operator sees it on the case
            await self._cases.add_event(case.id, "delivery_failed", {"error": detail})
