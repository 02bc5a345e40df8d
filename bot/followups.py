"""What happens later without a new message from the worker: a location pin nobody
answered goes to an operator; messages read while the NLU was down are read again; the
append-only file is rewritten after erasures (bot/store/erasure.py); the retention
rules are applied once an hour (bot/store/retention.py).

Runs in every bot process; timers are claimed one process at a time (bot/store/timers.py)
and kept messages are read through a consumer group (bot/nlu/late.py), so each happens
once.
"""

from __future__ import annotations

import json
import logging
import time

from bot.dispatch import Dispatcher
from bot.nlu.late import LateChecks
from bot.store.erasure import Erasures
from bot.store.retention import Retention
from bot.store.timers import Timers
from bot.tasks import every
from flows.attachments import LOCATION_TIMER

log = logging.getLogger(__name__)


class Followups:
    def __init__(
        self,
        dispatcher: Dispatcher,
        timers: Timers,
        late: LateChecks,
        erasures: Erasures,
        retention: Retention | None = None,
    ) -> None:
        self.dispatcher, self.timers, self.late, self.erasures = dispatcher, timers, late, erasures
        self.retention = retention
        self._late_checked = 0.0

    async def tick(self, recheck_seconds: float = 0.0) -> None:
        for member in await self.timers.due(LOCATION_TIMER):
            try:
                data = json.loads(member)
                sender, key = str(data["sender"]), str(data["key"])
            except (ValueError, KeyError, TypeError):
                log.error("followups: unreadable location timer dropped")
                await self.timers.done(LOCATION_TIMER, member)
                continue
            await self.dispatcher.location_unanswered(sender, key)
            await self.timers.done(LOCATION_TIMER, member)
        await self.erasures.rewrite_if_due()
        if self.retention is not None:
            await self.retention.sweep_if_due()
        now = time.monotonic()
        if now - self._late_checked >= recheck_seconds:
            self._late_checked = now
            await self.late.check(self.dispatcher.late_emergency)

    async def run(self, seconds: float, recheck_seconds: float) -> None:
        await every(seconds, lambda: self.tick(recheck_seconds), "followups")
