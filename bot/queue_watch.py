"""The queue watch: nobody forgets an emergency, and no claim dies with its operator.

Runs in every bot process, every ``queue_watch_seconds``:
- an unclaimed emergency is announced again to all on-call operators every
  ``reannounce_seconds``, and raised to a supervisor after ``supervisor_after_minutes``;
- an escalation claimed by an operator (or a process) that has since disappeared -
  no sign of life for longer than the presence window - and who has not answered the
  worker yet goes back to waiting, at its old place, and is announced again.
Each announcement is taken with SET NX, so with several bot processes it goes out once.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.casework import Casework, CaseworkError
from bot.staffing import PRESENCE_SECONDS, Presence
from bot.store.cases import Priority
from bot.store.escalations import QueueEntry, RedisEscalationQueue
from bot.store.events import Events
from bot.store.keys import Keys
from bot.tasks import being_cancelled

log = logging.getLogger(__name__)


class QueueWatch:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        queue: RedisEscalationQueue,
        casework: Casework,
        *,
        reannounce_seconds: float,
        supervisor_after_seconds: float,
        presence_seconds: float = PRESENCE_SECONDS,
    ) -> None:
        self._redis, self._keys, self.queue, self.casework = redis, keys, queue, casework
        self._events = Events(redis, keys)
        self._presence = Presence(redis, keys)
        self.reannounce_seconds = reannounce_seconds
        self.supervisor_after_seconds = supervisor_after_seconds
        self.presence_seconds = presence_seconds

    async def run(self, every: float) -> None:
        while True:
            try:
                await self.tick()
            except Exception as exc:
                if being_cancelled():
                    raise asyncio.CancelledError from exc
                if isinstance(exc, RedisError):
                    log.warning("queue watch: Redis unavailable: %s", exc)
                else:
                    log.exception("queue watch failed; trying again")
            await asyncio.sleep(every)

    async def tick(self) -> None:
        entries = await self.queue.entries()
        if not entries:
            return
        online = await self._presence.online(self.presence_seconds)
        for entry in entries:
            if entry.holder is not None:
                await self._check_holder(entry, online)
            elif entry.escalation.priority == Priority.CRITICAL.value:
                await self._announce(entry)

    async def _check_holder(self, entry: QueueEntry, online: set[str]) -> None:
        if entry.holder in online or entry.idle_ms < self.presence_seconds * 1000:
            return
        case_id = entry.escalation.case_id
        log.warning(
            "queue watch: %s claimed %s and disappeared; back to waiting", entry.holder, case_id
        )
        try:
            await self.casework.release(case_id, None, reason=f"{entry.holder} disappeared")
        except CaseworkError as exc:
            log.info("queue watch: %s: %s", case_id, exc)
            await self.queue.done(case_id)

    async def _announce(self, entry: QueueEntry) -> None:
        escalation = entry.escalation
        waited = time.time() - escalation.created_at
        number = int(waited // self.reannounce_seconds)
        if number >= 1 and await self._first(escalation.case_id, f"announce:{number}"):
            await self._events.publish(
                "escalation",
                outcome="announced",
                announcement=number,
                waited=round(waited),
                case_id=escalation.case_id,
                priority=escalation.priority,
                kind=escalation.kind,
                summary=escalation.summary,
            )
        if waited >= self.supervisor_after_seconds and await self._first(
            escalation.case_id, "supervisor"
        ):
            log.warning(
                "queue watch: %s unclaimed for %.0f s: supervisor", escalation.case_id, waited
            )
            await self.casework.services.cases.add_event(
                escalation.case_id, "raised_to_supervisor", {"waited": round(waited)}
            )
            await self._events.publish(
                "supervisor",
                case_id=escalation.case_id,
                waited=round(waited),
                summary=escalation.summary,
            )

    async def _first(self, case_id: str, what: str) -> bool:
        """True for exactly one process: the one that takes this announcement."""
        key = self._keys.announced(case_id, what)
        return bool(await self._redis.set(key, "1", nx=True, ex=7 * 86400))
