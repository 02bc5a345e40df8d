"""Messages read while the NLU model was unavailable are read again once it is back.

When the Rasa server cannot be asked, only the crisis lexicon decides, and it misses
most emergencies told in a worker's own words. Every message classified without the
model (and not already an emergency) is kept (bot/store/late.py); each bot process looks
every few seconds, and once the server answers again, reads the kept messages. A message
that now reads as an emergency is handed to ``on_emergency``, which escalates it as
"detected late".
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable

from bot.messages import Inbound
from bot.nlu.client import Classification, NLUClient
from bot.store.late import KeptMessage, KeptMessages

log = logging.getLogger(__name__)

__all__ = ["EmergencyHandler", "KeptMessage", "LateChecks"]

EmergencyHandler = Callable[[KeptMessage, Classification], Awaitable[None]]


class LateChecks:
    def __init__(self, kept: KeptMessages, nlu: NLUClient) -> None:
        self._kept, self._nlu = kept, nlu
        self._consumer = f"{socket.gethostname()}-{os.getpid()}"

    async def keep(self, inbound: Inbound, locale: str | None) -> None:
        await self._kept.keep(
            inbound.sender, inbound.channel, inbound.message_id, inbound.text, locale
        )

    async def pending(self) -> int:
        return await self._kept.pending()

    async def erase(self, sender: str) -> int:
        """Removes every kept message of this worker."""
        return await self._kept.erase(sender)

    async def check(self, on_emergency: EmergencyHandler) -> int:
        """One look: if anything is kept and the model answers, read it all again.
        Returns how many kept messages were read."""
        if not await self._kept.pending() or not await self._nlu.is_ready():
            return 0
        done = 0
        for entry_id, message in await self._kept.take(self._consumer):
            classification = await self._nlu.classify(message.text)
            if not classification.nlu_available:
                return done  # down again: left pending, read again later
            if classification.emergency:
                log.warning("a message kept while the NLU was down reads as an emergency")
                await on_emergency(message, classification)
            await self._kept.done(entry_id)
            done += 1
        return done
