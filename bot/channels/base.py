"""The one interface every worker-facing channel implements.

A channel is one folder under bot/channels/ and one line in bot/channels/__init__.py's
list. It turns its platform's payloads into neutral Inbound messages (they go into the
durable inbox), sends neutral Outbound messages back, and forgets a worker who erased
their data. Platform payloads never leave its folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from bot.messages import Outbound

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.helpline import Helpline


class SendFailed(Exception):
    """The platform did not take a message. ``later``: it may take it if tried again (a
    network error, the platform down or throttling); otherwise it never will (the worker
    blocked the bot, the number is not on WhatsApp)."""

    def __init__(self, detail: str, *, later: bool) -> None:
        super().__init__(detail)
        self.later = later


class Channel(Protocol):
    # The first part of a sender ("telegram:12345"): how delivery finds the channel.
    name: str
    # True for a channel whose page reads the conversation's outbox itself (the web
    # chat): its worker sees what was kept there, and ``send`` has nothing to do.
    reads_outbox: bool

    def routes(self) -> list[web.RouteDef]:
        """Its webhooks and pages, added to the app when it is built."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, user_id: str, messages: Sequence[Outbound], locale: str) -> None:
        """Replies and operators' messages to one worker, in the worker's language; raises
        SendFailed when the platform does not take one (the ones before it were sent)."""

    async def erase(self, user_id: str) -> None:
        """The worker erased their data: what the channel itself keeps of them goes."""

    async def window_open(self, user_id: str) -> bool:
        """False when free-form messages cannot reach the worker now (WhatsApp's 24-hour
        window); a channel without such a rule answers True."""

    async def send_template(self, user_id: str, locale: str, text: str = "") -> bool:
        """The platform's approved message that reopens a closed window; with ``text``,
        the approved alert template carrying it (an awareness alert). False when the
        channel has none."""


class ChannelKind(Protocol):
    """A channel class: whether the settings turn it on, and how it is built."""

    @staticmethod
    def configured(settings: Settings) -> bool: ...

    def __call__(self, helpline: Helpline) -> Channel: ...
