"""Sends replies back through the worker's own channel.

The web chat's channel is the conversation's outbox stream itself; Telegram and WhatsApp
register a sender of their own when they are configured.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.logs import masked
from bot.messages import Outbound
from bot.store.outbox import Outbox

log = logging.getLogger(__name__)

ChannelSender = Callable[[str, Sequence[Outbound]], Awaitable[None]]
# Removes what the channel itself still shows of a conversation (Telegram: the messages
# in the private chat), when the worker erases their data.
ChannelEraser = Callable[[str], Awaitable[None]]
# WhatsApp: True when free-form messages cannot reach the worker now (the 24-hour
# window is closed), and the approved template that can.
ChannelClosed = Callable[[str], Awaitable[bool]]
ChannelTemplate = Callable[[str, str], Awaitable[None]]


class Delivery:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._channels: dict[str, ChannelSender] = {}
        self._erasers: dict[str, ChannelEraser] = {}
        self._closed: dict[str, ChannelClosed] = {}
        self._templates: dict[str, ChannelTemplate] = {}

    def register(
        self,
        channel: str,
        send: ChannelSender | None,
        erase: ChannelEraser | None = None,
        *,
        reachable: ChannelClosed | None = None,
        template: ChannelTemplate | None = None,
    ) -> None:
        if send is not None:
            self._channels[channel] = send
        if erase is not None:
            self._erasers[channel] = erase
        if reachable is not None:
            self._closed[channel] = reachable
        if template is not None:
            self._templates[channel] = template

    async def window_closed(self, sender: str) -> bool:
        """True when only a template can reach this worker now."""
        channel, _, user_id = sender.partition(":")
        closed = self._closed.get(channel)
        return closed is not None and await closed(user_id)

    def has_template(self, sender: str) -> bool:
        return sender.partition(":")[0] in self._templates

    async def template(self, sender: str, locale: str) -> None:
        channel, _, user_id = sender.partition(":")
        await self._templates[channel](user_id, locale)

    async def erase(self, sender: str) -> None:
        channel, _, user_id = sender.partition(":")
        erase = self._erasers.get(channel)
        if erase is not None:
            try:
                await erase(user_id)
            except Exception:
                log.exception("could not erase the %s chat of %s", channel, masked(sender))

    async def forget(self, sender: str, after_seconds: int) -> None:
        """What is left of an erased conversation (its last reply) goes after a while."""
        await self._outbox.expire(sender, after_seconds)

    def sends_itself(self, sender: str) -> bool:
        """True for a channel with a sender of its own (not only the outbox)."""
        return sender.partition(":")[0] in self._channels

    async def deliver(
        self, sender: str, messages: Sequence[Outbound], *, record: bool = True
    ) -> None:
        channel, _, user_id = sender.partition(":")
        for message in messages if record else ():
            # Every channel's replies are kept in the outbox: the record of what was said.
            await self._outbox.push_outbound(sender, message)
        send = self._channels.get(channel)
        if send is not None:
            await send(user_id, messages)
