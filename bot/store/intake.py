"""Opening or raising a case and putting it on the operator queue: one atomic step.

Every path that puts a worker in front of a person comes here: an emergency, a
confirmed complaint, "talk to a person", a voice note to listen to, a location pin left
unanswered, a code word, an emergency read late. The case, its timeline entries, the
evidence that was waiting for it and its queue entry are written in one MULTI, so a
crash or a Redis failure leaves either all of it or none of it - never an emergency
case that nobody is told about.

A request may carry a key (the message or timer that asked for it): the case it opened
is remembered under that key, so a retry after a crash finds that case instead of
opening a second one.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from bot.store.cases import PRIORITY_RANK, Case, CaseStore, Priority
from bot.store.escalations import SUMMARY_CHARS, Escalation, RedisEscalationQueue
from bot.store.evidence import KEEP_DAYS
from bot.store.keys import Keys

KEY_TTL = 7 * 86400
_TRIES = 5


@dataclass(frozen=True)
class Request:
    sender: str
    # The escalation's kind (see escalations.KINDS).
    kind: str
    category: str
    intent: str
    priority: Priority
    summary: str = ""
    country: str | None = None
    locale: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    marks: tuple[str, ...] = ()
    # The message or timer that asked: a retry with the same key gets the same case.
    key: str | None = None
    # A case of its own even when the worker has another open case (a confirmed
    # complaint is a matter of its own).
    new_case: bool = False


@dataclass(frozen=True)
class Escalated:
    case: Case
    opened: bool = False
    raised: bool = False
    # What the queue did ("added", "raised", "kept", "claimed"); None: not queued,
    # because an operator already has the case.
    queued: str | None = None
    # Marks the case did not have before this request.
    new_marks: tuple[str, ...] = ()
    # The key had been seen: nothing was changed.
    replay: bool = False


class Intake:
    def __init__(
        self, redis: Redis, keys: Keys, cases: CaseStore, queue: RedisEscalationQueue
    ) -> None:
        self._redis, self._keys, self._cases, self._queue = redis, keys, cases, queue

    async def escalate(self, request: Request) -> Escalated:
        """Opens a case or raises the worker's open one, and queues it; see the module."""
        if request.key:
            found = await self._redis.get(self._keys.intake(request.key))
            case = await self._cases.get(str(found)) if found else None
            if case is not None:
                return Escalated(case, replay=True)
        for _ in range(_TRIES):
            try:
                case = None if request.new_case else await self._cases.open_case_of(request.sender)
                if case is None:
                    return await self._open(request)
                return await self._raise(case, request)
            except WatchError:
                continue  # evidence arrived meanwhile: read again
        raise RuntimeError(f"could not open a case for {request.sender}: too much contention")

    async def _open(self, request: Request) -> Escalated:
        now = time.time()
        case = Case(
            id=await self._cases.new_id(),
            sender=request.sender,
            category=request.category,
            intent=request.intent,
            priority=request.priority.value,
            country=request.country,
            locale=request.locale,
            summary=request.summary,
            details=dict(request.details),
            marks={mark: now for mark in request.marks},
        )
        escalation = self._escalation(case, request)
        waiting_key = self._keys.evidence_waiting(request.sender)
        async with self._watching(waiting_key) as (pipe, waiting):
            self._cases.stage_new(pipe, case)
            self._cases.stage_event(
                pipe, case.id, "opened", {"priority": case.priority, "intent": case.intent}
            )
            for mark in request.marks:
                self._cases.stage_event(pipe, case.id, "marked", {"mark": mark})
            self._stage_waiting(pipe, case.id, waiting, waiting_key)
            if request.key:
                pipe.set(self._keys.intake(request.key), case.id, ex=KEY_TTL)
            await self._queue.stage_put(pipe, escalation)
            results = await pipe.execute()
        outcome = str(results[-1][0])
        await self._cases.published(case.id, "opened")
        await self._queue.published(escalation, outcome)
        return Escalated(case, opened=True, queued=outcome, new_marks=request.marks)

    async def _raise(self, case: Case, request: Request) -> Escalated:
        now = time.time()
        raised = PRIORITY_RANK[request.priority] < PRIORITY_RANK[Priority(case.priority)]
        old_priority = case.priority
        new_marks = tuple(m for m in request.marks if m not in case.marks)
        if raised:
            case.priority = request.priority.value
        for mark in new_marks:
            case.marks[mark] = now
        # An operator who has the case is told, not queued against: nobody else could
        # claim it. Everyone else waits on the queue, where put() keeps, adds or raises.
        queue = case.assignee is None
        escalation = self._escalation(case, request)
        waiting_key = self._keys.evidence_waiting(request.sender)
        async with self._watching(waiting_key) as (pipe, waiting):
            if raised or new_marks:
                self._cases.stage_save(pipe, case)
            if raised:
                self._cases.stage_event(
                    pipe, case.id, "priority", {"from": old_priority, "to": case.priority}
                )
            for mark in new_marks:
                self._cases.stage_event(pipe, case.id, "marked", {"mark": mark})
            self._stage_waiting(pipe, case.id, waiting, waiting_key)
            if request.key:
                pipe.set(self._keys.intake(request.key), case.id, ex=KEY_TTL)
            if queue:
                await self._queue.stage_put(pipe, escalation)
            results = await pipe.execute()
        outcome = str(results[-1][0]) if queue else None
        if raised or new_marks or waiting:
            await self._cases.published(case.id, "priority" if raised else "marked")
        if outcome is not None and outcome != "kept":
            await self._queue.published(escalation, outcome)
        return Escalated(case, raised=raised, queued=outcome, new_marks=new_marks)

    async def announce(self, case: Case, *, reason: str) -> None:
        """Every console and the operators' group hear it at once, whoever has the case:
        the worker said "I am not safe" (reason "not_safe"), or sent the code word
        ("watched")."""
        escalation = Escalation(
            case.id, case.priority, "emergency", case.sender or "", case.summary[:SUMMARY_CHARS],
            marks=tuple(case.marks),
        )  # fmt: skip
        await self._queue.announce(
            escalation,
            reason=reason,
            number=f"{reason}:{int(time.time() * 1000)}",
            waited=time.time() - case.created_at,
            assignee=case.assignee,
        )

    @asynccontextmanager
    async def _watching(self, waiting_key: str) -> AsyncIterator[tuple[Pipeline, list[str]]]:
        """A MULTI that fails (WatchError, and escalate() reads again) if evidence joined
        the worker's waiting list between reading it and writing the case."""
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(waiting_key)
            waiting = [str(w) for w in await pipe.lrange(waiting_key, 0, -1)]
            pipe.multi()  # type: ignore[no-untyped-call]
            yield pipe, waiting

    def _escalation(self, case: Case, request: Request) -> Escalation:
        return Escalation(
            case.id,
            case.priority,
            request.kind,
            request.sender,
            (request.summary or case.summary)[:SUMMARY_CHARS],
            marks=tuple(case.marks),
        )

    def _stage_waiting(self, pipe: Any, case_id: str, waiting: list[str], waiting_key: str) -> None:
        """Evidence the worker sent before there was a case joins this one."""
        if not waiting:
            return
        timeline = self._keys.case_timeline(case_id)
        for raw in waiting:
            pipe.rpush(timeline, raw)  # sealed alike (bot/store/sealing.py)
            ref = (json.loads(self._cases.sealer.unseal(raw)).get("media") or {}).get("ref")
            if ref:
                pipe.expire(self._keys.evidence(str(ref)), KEEP_DAYS * 86400)
        pipe.delete(waiting_key)
