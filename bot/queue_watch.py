"""The queue watch: nobody waiting is forgotten, and no claim dies with its operator.

Runs in every bot process, every ``queue_watch_seconds``:
- an unclaimed emergency is announced again to all on-call operators every
  ``reannounce_seconds``, and raised to a supervisor after ``supervisor_after_minutes``;
- an emergency whose worker said "I am not safe" goes to supervisors if nobody has
  claimed it ``not_safe_supervisor_seconds`` after they said it;
- a complaint or a "talk to a person" request (a voice note, a location pin) has its own
  waiting limit, counted within staffed hours: past it, it is announced again and raised
  to supervisors;
- an escalation claimed by an operator (or a process) that has since disappeared -
  no sign of life for longer than the presence window - and who has not answered the
  worker yet goes back to waiting, at its old place, and is announced again;
- an open emergency case with nobody on it and no place in the queue (left so by a
  crash of an older version, or by hand) is put back on the queue and announced.
Each announcement is taken once across processes (RedisEscalationQueue.first_announcement),
so with several bot processes it goes out once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.casework import Casework, CaseworkError
from bot.metrics import Metrics
from bot.staffing import PRESENCE_SECONDS, Presence, StaffedHours
from bot.store.cases import NOT_SAFE, Case, Priority
from bot.store.escalations import SUMMARY_CHARS, Escalation, QueueEntry, RedisEscalationQueue
from bot.store.events import Events
from bot.tasks import every

log = logging.getLogger(__name__)

# The open-emergency index is checked against the queue every this many ticks.
RECONCILE_EVERY = 5


@dataclass(frozen=True)
class WaitingLimits:
    """How long each kind of escalation may wait unclaimed before supervisors hear."""

    reannounce_seconds: float = 60.0
    supervisor_after_seconds: float = 600.0
    not_safe_supervisor_seconds: float = 120.0
    # Within staffed hours.
    human_seconds: float = 30 * 60.0
    complaint_seconds: float = 4 * 3600.0

    def for_kind(self, kind: str) -> float:
        return self.complaint_seconds if kind == "complaint" else self.human_seconds


class QueueWatch:
    def __init__(
        self,
        queue: RedisEscalationQueue,
        casework: Casework,
        events: Events,
        presence: Presence,
        *,
        limits: WaitingLimits,
        hours: StaffedHours,
        presence_seconds: float = PRESENCE_SECONDS,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self.queue, self.casework = queue, casework
        self._events, self._presence = events, presence
        self.metrics = metrics or Metrics()
        self.limits, self.hours = limits, hours
        self.presence_seconds = presence_seconds
        # "Now" for every waiting time it judges; tests pass their own to move time on.
        self._clock = clock
        self._ticks = 0
        # Announcements this process has asked Redis about already.
        self._asked: set[tuple[str, str]] = set()
        self._indexed = False

    @property
    def reannounce_seconds(self) -> float:
        return self.limits.reannounce_seconds

    async def past_limit(self) -> list[QueueEntry]:
        """Who waits on the queue, unclaimed, longer than their limit now (emergencies:
        until they are raised to supervisors), counted within staffed hours."""
        now, found = self._clock(), []
        for entry in await self.queue.entries():
            if entry.holder is not None:
                continue
            escalation = entry.escalation
            limit = (
                self.limits.supervisor_after_seconds
                if escalation.priority == "critical"
                else self.limits.for_kind(escalation.kind)
            )
            if self.hours.staffed_seconds(escalation.created_at, now) >= limit:
                found.append(entry)
        return found

    async def run(self, seconds: float) -> None:
        await every(seconds, self.tick, "queue watch")

    async def tick(self) -> None:
        self._ticks += 1
        entries = await self.queue.entries()
        if self._ticks % RECONCILE_EVERY == 1:
            await self.reconcile({e.escalation.case_id for e in entries})
        if not entries:
            return
        online = await self._presence.online(self.presence_seconds)
        waiting = [e for e in entries if e.holder is None]
        cases = await self.casework.services.cases.get_many([e.escalation.case_id for e in waiting])
        for entry in entries:
            if entry.holder is not None:
                await self._check_holder(entry, online)
                continue
            if entry.escalation.priority == Priority.CRITICAL.value:
                await self._emergency(entry)
            else:
                await self._past_limit(entry)
            case = cases.get(entry.escalation.case_id)
            if case is not None and NOT_SAFE in case.marks:
                await self._not_safe(entry, case)

    async def reconcile(self, queued: set[str] | None = None) -> int:
        """Every open emergency has a person or a place in the queue; returns how many
        were put back. ``queued``: the case ids on the queue, if just read."""
        cases = self.casework.services.cases
        if not self._indexed:
            await cases.index_open_critical()
            self._indexed = True
        put_back = 0
        found = await cases.get_many(await cases.open_critical())
        for case in found.values():
            if not case.is_open or not case.is_critical:
                continue
            if case.assignee is not None or case.sender is None:
                continue
            if case.id in (queued or set()) or await self.queue.is_queued(case.id):
                continue
            log.warning("queue watch: emergency %s had nobody and no queue entry: queued", case.id)
            await cases.add_event(case.id, "requeued", {"by": "system"})
            await self.queue.put(
                Escalation(
                    case.id,
                    case.priority,
                    "emergency",
                    case.sender,
                    case.summary[:SUMMARY_CHARS],
                    created_at=case.created_at,
                    marks=tuple(case.marks),
                )
            )
            put_back += 1
        return put_back

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

    async def _emergency(self, entry: QueueEntry) -> None:
        escalation = entry.escalation
        waited = self._clock() - escalation.created_at
        number = int(waited // self.limits.reannounce_seconds)
        if number >= 1 and await self._first(
            escalation.case_id, f"announce:{number}", 2 * self.limits.reannounce_seconds
        ):
            await self.queue.announce(escalation, reason="reannounce", number=number, waited=waited)
        if waited >= self.limits.supervisor_after_seconds and await self._first(
            escalation.case_id, "supervisor"
        ):
            await self._supervisor(escalation, waited, "emergency")

    async def _past_limit(self, entry: QueueEntry) -> None:
        """Complaints, "talk to a person", voice notes and pins: their own limits."""
        escalation = entry.escalation
        limit = self.limits.for_kind(escalation.kind)
        waited = self.hours.staffed_seconds(escalation.created_at, self._clock())
        number = int(waited // limit)
        if number < 1 or not await self._first(escalation.case_id, f"limit:{number}", 2 * limit):
            return
        await self.queue.announce(escalation, reason="waiting_limit", number=number, waited=waited)
        if number == 1:
            await self._supervisor(escalation, waited, "waiting_limit")

    async def _not_safe(self, entry: QueueEntry, case: Case) -> None:
        said = case.marks[NOT_SAFE]
        waited = self._clock() - said
        if waited >= self.limits.not_safe_supervisor_seconds and await self._first(
            case.id, f"supervisor:not_safe:{int(said)}"
        ):
            await self._supervisor(entry.escalation, waited, "not_safe")

    async def _supervisor(self, escalation: Escalation, waited: float, reason: str) -> None:
        self.metrics.past_limit.labels(reason).inc()
        log.warning(
            "queue watch: %s unclaimed for %.0f s (%s): supervisor",
            escalation.case_id,
            waited,
            reason,
        )
        await self.casework.services.cases.add_event(
            escalation.case_id, "raised_to_supervisor", {"waited": round(waited), "reason": reason}
        )
        await self._events.publish(
            "supervisor",
            case_id=escalation.case_id,
            waited=round(waited),
            summary=escalation.summary,
            priority=escalation.priority,
            kind=escalation.kind,
            reason=reason,
        )

    async def _first(self, case_id: str, what: str, keep: float = 7 * 86400) -> bool:
        """True for exactly one process: the one that takes this announcement. Each
        process asks Redis once per announcement (not on every tick while it waits), and
        the mark lives ``keep`` seconds: numbered announcements need it only until the
        next number."""
        if (case_id, what) in self._asked:
            return False
        taken = await self.queue.first_announcement(case_id, what, keep)
        if len(self._asked) > 10_000:
            self._asked.clear()
        self._asked.add((case_id, what))
        return taken
