"""Sends replies back through the worker's own channel.

Every reply is first kept in the conversation's outbox (the record of what was said,
and what the web chat reads); then the worker's channel sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.channels.base import Channel
from bot.logs import masked
from bot.messages import Outbound
from bot.metrics import Metrics
from bot.store.outbox import Outbox
from bot.store.replies import Replies

log = logging.getLogger(__name__)


class Delivery:
    def __init__(self, outbox: Outbox, replies: Replies, metrics: Metrics | None = None) -> None:
        self._outbox, self._replies = outbox, replies
        self.metrics = metrics or Metrics()
        self.channels: dict[str, Channel] = {}

    def add(self, channel: Channel) -> None:
        self.channels[channel.name] = channel

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
        was said), marks the message ``answering`` answered in the same step, then sends
        them through the worker's channel."""
        channel, user_id = self._of(sender)
        if record:
            await self._outbox.record(sender, messages, answering=answering)
        elif answering is not None:
            await self._replies.put(answering, sender, messages)
        if channel is not None and messages:
            self.metrics.messages_out.labels(channel.name).inc(len(messages))
            locale = next((m.locale for m in messages if m.locale), "id")
            await channel.send(user_id, messages, locale)
