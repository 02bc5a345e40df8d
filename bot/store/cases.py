"""Cases: every emergency, complaint and request for a person becomes one."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.case_facts import changes
from bot.store.case_index import CaseIndex
from bot.store.case_words import INDEXED_KINDS, CaseWords
from bot.store.events import Events
from bot.store.keys import Keys
from bot.store.sealing import Sealer


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"


PRIORITY_RANK = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.NORMAL: 2}


class Status(StrEnum):
    NEW = "new"
    CLAIMED = "claimed"
    WAITING = "waiting_for_worker"
    REFERRED = "referred"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset({Status.NEW, Status.CLAIMED, Status.WAITING, Status.REFERRED})

# Where a case may go from each status; resolved and closed cases come back by reopen().
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.CLAIMED, Status.REFERRED, Status.RESOLVED, Status.CLOSED}),
    Status.CLAIMED: frozenset(
        {Status.NEW, Status.WAITING, Status.REFERRED, Status.RESOLVED, Status.CLOSED}
    ),
    Status.WAITING: frozenset({Status.CLAIMED, Status.REFERRED, Status.RESOLVED, Status.CLOSED}),
    Status.REFERRED: frozenset({Status.CLAIMED, Status.WAITING, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
}

# The outcomes a referral to a partner can have.
REFERRAL_OUTCOMES = ("pending", "accepted", "declined", "resolved", "no_response")

# What a case can be marked with, besides its category: shown on the case page, in the
# queue and in the operators' group, so the operator knows how to approach the worker.
NOT_SAFE = "not_safe"  # the worker answered "I am not safe"
SELF_HARM = "self_harm"  # the worker spoke of harming themselves
WATCHED = "watched"  # the worker sent the code word: someone may read the phone
LOCATION_ONLY = "location_only"  # a location pin with no words and no answer
LISTEN = "listen"  # a voice note waits to be listened to
DETECTED_LATE = "detected_late"  # read as an emergency once the NLU was back
MARKS = (NOT_SAFE, SELF_HARM, WATCHED, LOCATION_ONLY, LISTEN, DETECTED_LATE)


# A text search reads at most this many of the newest cases the other filters leave.
SEARCH_LIMIT = 5000
# What a search for a case number looks like: "PMI-2026-00042", or its beginning.
CASE_NUMBER = re.compile(r"^(?i:pmi)-\d{1,4}(-\d{0,6})?$")


class CaseError(Exception):
    """A change a case cannot take (a closed case, a status it cannot reach)."""


@dataclass
class Case:
    id: str
    sender: str | None
    category: str
    intent: str
    priority: str
    status: str = Status.NEW.value
    country: str | None = None
    locale: str | None = None
    summary: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    assignee: str | None = None
    # Referrals to partners: {"partner", "note", "outcome", "by", "at"}.
    referrals: list[dict[str, Any]] = field(default_factory=list)
    # Marks (see MARKS) and when each was first set.
    marks: dict[str, float] = field(default_factory=dict)
    # Operators the assignee (or a supervisor) shared the case with: they may see it.
    shared_with: list[str] = field(default_factory=list)
    # What operators recorded (bot/case_facts.py: sector, against whom, violations,
    # amounts, gender, consent) and how the case ended.
    facts: dict[str, Any] = field(default_factory=dict)
    outcome: str | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    # When a person first took it, first wrote to the worker, and when it was closed
    # (for the reports: time to claim, time to the first human reply).
    claimed_at: float | None = None
    answered_at: float | None = None
    closed_at: float | None = None
    # When the case should be looked at again (waiting for the worker or a partner).
    due_at: float | None = None
    # The worker's answer to "how helpful was this?" after closing: {"score": 1-5,
    # "comment": "...", "at": ...}.
    rating: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_critical(self) -> bool:
        return self.priority == Priority.CRITICAL.value

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Case:
        data = json.loads(raw)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def visible(case: Case, operator: str) -> bool:
    """What an operator (not a supervisor) may see: cases assigned to them, shared with
    them, or open and unassigned (on the queue, to be claimed)."""
    return (
        case.assignee == operator
        or operator in case.shared_with
        or (case.assignee is None and case.is_open)
    )


def case_id_for(year: int, number: int) -> str:
    """An id people can read out on the phone: PMI-2026-00042."""
    return f"PMI-{year}-{number:05d}"


class CaseStore:
    """Cases and their timelines; both are sealed (bot/store/sealing.py): the case record
    holds the summary, the timeline every word said."""

    def __init__(self, redis: Redis, keys: Keys, sealer: Sealer | None = None) -> None:
        self._redis, self._keys = redis, keys
        self._events = Events(redis, keys)
        self.sealer = sealer or Sealer.plain()
        self.index = CaseIndex(redis, keys)
        # Keyed by the data key: after rotating it, `helpline reindex` rebuilds the index.
        self.words = CaseWords(redis, keys, self.sealer.keys[0] if self.sealer.keys else b"")
        self.agencies = Agencies(redis, keys)

    async def open(
        self,
        *,
        sender: str,
        category: str,
        intent: str,
        priority: Priority,
        country: str | None,
        locale: str | None,
        summary: str,
        details: dict[str, Any] | None = None,
    ) -> Case:
        case = Case(
            id=await self.new_id(),
            sender=sender,
            category=category,
            intent=intent,
            priority=priority.value,
            country=country,
            locale=locale,
            summary=summary,
            details=details or {},
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            self.stage_new(pipe, case)
            await pipe.execute()
        await self.add_event(case.id, "opened", {"priority": case.priority, "intent": intent})
        return case

    async def new_id(self) -> str:
        """The next case number (a number taken and never used leaves a gap, nothing else)."""
        year = time.gmtime().tm_year
        return case_id_for(year, int(await self._redis.incr(self._keys.case_counter(year))))

    # Staging: the writes of one change queued on a MULTI pipeline, so a case and what
    # goes with it (its queue entry, its evidence) are stored together or not at all.

    def stage_new(self, pipe: Pipeline, case: Case) -> None:
        self.stage_save(pipe, case)
        pipe.zadd(self._keys.cases_all(), {case.id: case.created_at})
        if case.sender:
            pipe.zadd(self._keys.cases_of(case.sender), {case.id: case.created_at})

    def stage_save(self, pipe: Pipeline, case: Case) -> None:
        case.updated_at = time.time()
        pipe.set(self._keys.case(case.id), self.sealer.seal(case.to_json()))
        self.index.stage(pipe, case)
        # Open emergencies are indexed: the queue watch checks each has a person or a
        # place in the queue.
        if case.is_open and case.is_critical:
            pipe.zadd(self._keys.cases_open_critical(), {case.id: case.created_at})
        else:
            pipe.zrem(self._keys.cases_open_critical(), case.id)
        # Open cases with a follow-up date, by that date.
        if case.is_open and case.due_at is not None:
            pipe.zadd(self._keys.cases_due(), {case.id: case.due_at})
        else:
            pipe.zrem(self._keys.cases_due(), case.id)

    def stage_event(self, pipe: Pipeline, case_id: str, kind: str, data: dict[str, Any]) -> None:
        entry = json.dumps({"kind": kind, "at": time.time(), **data}, ensure_ascii=False)
        pipe.rpush(self._keys.case_timeline(case_id), self.sealer.seal(entry))
        if kind in INDEXED_KINDS and data.get("text"):
            self.words.stage(pipe, case_id, str(data["text"]))

    async def open_critical(self) -> list[str]:
        """Ids of the open emergency cases."""
        found: list[str] = await self._redis.zrange(self._keys.cases_open_critical(), 0, -1)  # type: ignore[assignment]
        return found

    async def index_open_critical(self) -> int:
        """Builds the open-emergency index from every case (for data stored before it)."""
        count = 0
        for case in await self.all():
            if case.is_open and case.is_critical:
                await self._redis.zadd(self._keys.cases_open_critical(), {case.id: case.created_at})
                count += 1
        return count

    async def reindex(self) -> int:
        """Rebuilds the case-list indexes and the reports' counters from every case
        record (`helpline reindex`); returns how many cases were indexed."""
        await self.index.clear()
        count = 0
        for case in await self.all():
            await self.words.forget(case.id)
            async with self._redis.pipeline(transaction=True) as pipe:
                self.index.stage(pipe, case)
                for entry in await self.timeline(case.id):
                    if entry.get("kind") in INDEXED_KINDS and entry.get("text"):
                        self.words.stage(pipe, case.id, str(entry["text"]))
                await pipe.execute()
            count += 1
        return count

    async def get(self, case_id: str) -> Case | None:
        raw = await self._redis.get(self._keys.case(case_id))
        return Case.from_json(self.sealer.unseal(raw)) if raw else None

    async def get_many(self, case_ids: list[str]) -> dict[str, Case]:
        """The cases that exist among ``case_ids``, in one round trip."""
        if not case_ids:
            return {}
        raws = await self._redis.mget([self._keys.case(i) for i in case_ids])
        opened = (Case.from_json(self.sealer.unseal(raw)) for raw in raws if raw)
        return {c.id: c for c in opened}

    async def save(self, case: Case) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            self.stage_save(pipe, case)
            await pipe.execute()

    async def of_sender(self, sender: str) -> list[Case]:
        ids: list[str] = await self._redis.zrevrange(self._keys.cases_of(sender), 0, 49)  # type: ignore[assignment]
        cases = [await self.get(i) for i in ids]
        return [c for c in cases if c is not None]

    async def open_case_of(self, sender: str) -> Case | None:
        return next((c for c in await self.of_sender(sender) if c.is_open), None)

    async def raise_priority(self, case: Case, priority: Priority) -> bool:
        if PRIORITY_RANK[priority] < PRIORITY_RANK[Priority(case.priority)]:
            old = case.priority
            case.priority = priority.value
            await self.save(case)
            await self.add_event(case.id, "priority", {"from": old, "to": priority.value})
            return True
        return False

    async def add_event(self, case_id: str, kind: str, data: dict[str, Any]) -> None:
        """Append to the case's timeline: messages, notes, status changes, referrals."""
        async with self._redis.pipeline(transaction=True) as pipe:
            self.stage_event(pipe, case_id, kind, data)
            await pipe.execute()
        await self.published(case_id, kind)

    async def add_event_once(self, case_id: str, kind: str, data: dict[str, Any], key: str) -> None:
        """``add_event`` for a step a retry may run again (after a crash): the event is
        kept with ``key`` (the message's), and not added again when one with it is there."""
        timeline = await self.timeline(case_id)
        if not any(e["kind"] == kind and e.get("key") == key for e in timeline):
            await self.add_event(case_id, kind, {**data, "key": key})

    async def published(self, case_id: str, kind: str) -> None:
        """Tells open consoles (and the operators' group) that the case changed."""
        await self._events.publish("case", case_id=case_id, kind=kind)

    async def set_status(
        self, case: Case, status: Status, by: str, *, outcome: str | None = None
    ) -> None:
        """Moves the case on; a resolved or closed case records ``outcome`` and when."""
        current = Status(case.status)
        if status == current:
            return
        if status not in TRANSITIONS[current]:
            raise CaseError(f"a {current.value} case cannot become {status.value}")
        case.status = status.value
        change: dict[str, Any] = {"from": current.value, "to": status.value, "by": by}
        if status not in OPEN_STATUSES:
            case.closed_at = time.time()
            if outcome is not None:
                case.outcome = change["outcome"] = outcome
        await self.save(case)
        await self.add_event(case.id, "status", change)

    async def set_facts(
        self, case: Case, facts: dict[str, Any], corrections: dict[str, str], by: str
    ) -> dict[str, Any]:
        """Records what an operator set (facts) and corrected (category, intent, country);
        returns what changed, which is also on the timeline."""
        changed = changes(case.facts, facts)
        for name, value in corrections.items():
            if getattr(case, name) != value:
                changed[name] = [getattr(case, name), value]
                setattr(case, name, value)
        if not changed:
            return {}
        case.facts = facts
        await self.save(case)
        # The gender is the worker's personal data: the timeline says it changed, not what.
        shown = {k: (["?", "?"] if k == "gender" else v) for k, v in changed.items()}
        await self.add_event(case.id, "facts", {"by": by, "changed": shown})
        return changed

    async def set_due(self, case: Case, due_at: float | None, by: str) -> None:
        """Sets (or, with None, clears) when the case should be looked at again."""
        case.due_at = due_at
        await self.save(case)
        await self.add_event(case.id, "due", {"by": by, "due_at": due_at})

    async def due_by(self, until: float) -> list[Case]:
        """Open cases whose follow-up date is ``until`` or earlier, the most overdue first."""
        ids = await self._redis.zrangebyscore(self._keys.cases_due(), "-inf", until)
        found = await self.get_many([str(i) for i in ids])
        return [found[str(i)] for i in ids if str(i) in found and found[str(i)].is_open]

    async def rate(self, case: Case, score: int | None = None, comment: str = "") -> None:
        """The worker's answer to the satisfaction question (a score, then perhaps a
        comment)."""
        if score is not None:
            case.rating = {"score": score, "at": time.time()}
        if comment:
            case.rating["comment"] = comment
        await self.save(case)
        await self.add_event(case.id, "rating", dict(case.rating))

    async def mark_answered(self, case: Case) -> None:
        """The first time a person wrote to the worker on this case."""
        if case.answered_at is None:
            case.answered_at = time.time()
            await self.save(case)

    async def reopen(self, case: Case, by: str) -> None:
        if case.is_open:
            raise CaseError(f"{case.id} is open already")
        old = case.status
        case.status = (Status.CLAIMED if case.assignee else Status.NEW).value
        case.outcome = case.closed_at = None
        await self.save(case)
        await self.add_event(case.id, "reopened", {"from": old, "to": case.status, "by": by})

    async def assign(self, case: Case, username: str | None, by: str) -> None:
        old = case.assignee
        case.assignee = username
        if username and case.claimed_at is None:
            case.claimed_at = time.time()
        if username and case.status == Status.NEW.value:
            case.status = Status.CLAIMED.value
        elif username is None and case.status == Status.CLAIMED.value:
            case.status = Status.NEW.value
        await self.save(case)
        await self.add_event(case.id, "assigned", {"from": old, "to": username, "by": by})

    async def add_note(self, case_id: str, by: str, text: str) -> None:
        await self.add_event(case_id, "note", {"by": by, "text": text})

    async def refer(self, case: Case, partner: str, note: str, by: str) -> None:
        if not case.is_open:
            raise CaseError(f"{case.id} is {case.status}")
        referral = {"partner": partner, "note": note, "outcome": "pending", "by": by}
        case.referrals.append({**referral, "at": time.time()})
        case.status = Status.REFERRED.value
        await self.save(case)
        await self.add_event(case.id, "referral", referral)

    async def referral_outcome(self, case: Case, index: int, outcome: str, by: str) -> None:
        if outcome not in REFERRAL_OUTCOMES or not 0 <= index < len(case.referrals):
            raise CaseError("no such referral or outcome")
        case.referrals[index]["outcome"] = outcome
        case.referrals[index]["outcome_at"] = None if outcome == "pending" else time.time()
        await self.save(case)
        partner = case.referrals[index]["partner"]
        await self.add_event(
            case.id, "referral_outcome", {"partner": partner, "outcome": outcome, "by": by}
        )

    async def all(self) -> list[Case]:
        """Every case, newest first."""
        ids: list[str] = await self._redis.zrevrange(self._keys.cases_all(), 0, -1)  # type: ignore[assignment]
        found: list[Case] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            raws = await self._redis.mget([self._keys.case(i) for i in chunk])
            found += [Case.from_json(self.sealer.unseal(raw)) for raw in raws if raw]
        return found

    async def search(
        self, filters: CaseFilter, limit: int = 50, offset: int = 0
    ) -> tuple[list[Case], int]:
        """The cases that match, newest first (a page of them), and how many match.
        Read from the case-list indexes; a text search reads the newest
        SEARCH_LIMIT cases the other filters leave (``searched`` tells how many)."""
        every, any_of = filters.indexes()
        if not filters.text:
            ids, total = await self.index.page(every, any_of, offset, limit)
            found = await self.get_many(ids)
            return [found[i] for i in ids if i in found], total
        said: set[str] = set()
        if CASE_NUMBER.match(filters.text.strip()):
            # A case number, or its beginning: read from the index of numbers.
            numbers = await self.index.numbers(filters.text.strip().upper(), SEARCH_LIMIT)
            candidates = sorted(numbers, reverse=True)
        else:
            # Words said anywhere in a case (the blind index), and the newest cases'
            # number, summary, intent, country and operator.
            said = await self.words.find(filters.text) or set()
            newest = await self.index.newest(every, any_of, SEARCH_LIMIT)
            candidates = newest + sorted(said - set(newest))
        plain = dataclasses.replace(filters, text="")
        matching: list[Case] = []
        for start in range(0, len(candidates), 500):
            chunk = await self.get_many(candidates[start : start + 500])
            matching += [chunk[i] for i in candidates[start : start + 500] if i in chunk]
        matching = [
            c for c in matching if filters.matches(c) or (c.id in said and plain.matches(c))
        ]
        matching.sort(key=lambda c: c.created_at, reverse=True)
        return matching[offset : offset + limit], len(matching)

    async def timeline(self, case_id: str) -> list[dict[str, Any]]:
        return [
            json.loads(self.sealer.unseal(e))
            for e in await self._redis.lrange(self._keys.case_timeline(case_id), 0, -1)
        ]

    async def timeline_from(self, case_id: str, start: int) -> tuple[int, list[dict[str, Any]]]:
        """The timeline's length, and its entries from ``start`` (negative: from the end)."""
        key = self._keys.case_timeline(case_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.llen(key)
            pipe.lrange(key, start, -1)
            length, raw = await pipe.execute()
        return int(length), [json.loads(self.sealer.unseal(e)) for e in raw]

    async def forget_timeline(self, case_id: str) -> None:
        """Deletes every word said in the case: its timeline and its words in the
        search index (erasure, and the reduction to the anonymous record)."""
        await self._redis.delete(self._keys.case_timeline(case_id))
        await self.words.forget(case_id)

    async def timeline_length(self, case_id: str) -> int:
        return int(await self._redis.llen(self._keys.case_timeline(case_id)))

    async def unlink_sender(self, sender: str) -> int:
        """Erase the worker's identity and messages from their cases; the records stay.

        The written policy is in the README ("Deleting your data").
        """
        cases = await self.of_sender(sender)
        for case in cases:
            case.sender = None
            case.summary = ""
            case.details = {"erased_at": time.time()}
            # What the worker said of themselves goes; the facts of the case stay.
            case.facts.pop("gender", None)
            case.rating.pop("comment", None)
            await self.save(case)
            await self.forget_timeline(case.id)
            await self.add_event(case.id, "worker_data_erased", {})
        await self._redis.delete(self._keys.cases_of(sender))
        return len(cases)


@dataclass(frozen=True)
class CaseFilter:
    """What the case list is narrowed to; empty fields match everything."""

    text: str = ""
    # "open" for every open status, or one status.
    status: str = ""
    priority: str = ""
    country: str = ""
    category: str = ""
    # A username, or "none" for unassigned cases.
    assignee: str = ""
    # Only the cases this operator may see (theirs, shared with them, or on the queue);
    # empty for supervisors and admins, who see all.
    visible_to: str = ""

    def indexes(self) -> tuple[list[str], list[str]]:
        """The case-list indexes (bot/store/case_index.py) a case must be in - all of
        the first list, and one of the second if it is not empty."""
        every: list[str] = []
        names = ["priority", "country", "category", "assignee"]
        if self.status == "open":
            # Ready-made narrowings of the open cases (bot/store/case_index.py).
            if self.assignee == "none":
                every.append("unassigned-open")
                names.remove("assignee")
            elif self.priority:
                every.append(f"open-priority:{self.priority}")
                names.remove("priority")
            else:
                every.append("open")
        elif self.status:
            every.append(f"status:{self.status}")
        for name in names:
            value = getattr(self, name)
            if value:
                every.append(f"{name}:{value}")
        any_of: list[str] = []
        if self.visible_to:
            user = self.visible_to
            if every == ["open"]:
                # The open cases an operator sees, ready-made: no intersection needed.
                return [], [f"open-assignee:{user}", f"open-shared:{user}", "unassigned-open"]
            any_of = [f"assignee:{user}", f"shared:{user}", "unassigned-open"]
        if not every:
            every.append("all")
        return every, any_of

    def matches(self, case: Case) -> bool:
        if self.visible_to and not visible(case, self.visible_to):
            return False
        if self.status == "open":
            if not case.is_open:
                return False
        elif self.status and case.status != self.status:
            return False
        if self.priority and case.priority != self.priority:
            return False
        if self.country and case.country != self.country:
            return False
        if self.category and case.category != self.category:
            return False
        if self.assignee == "none":
            if case.assignee is not None:
                return False
        elif self.assignee and case.assignee != self.assignee:
            return False
        if self.text:
            needle = self.text.casefold()
            haystack = " ".join(
                (case.id, case.summary, case.intent, case.country or "", case.assignee or "")
            ).casefold()
            return needle in haystack
        return True


class Agencies:
    """Recruitment agencies named on cases, with their P3MI licence number where known:
    the list operators choose from grows as it is used."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys

    async def seen(self, name: str, licence: str = "") -> None:
        key, field_ = self._keys.agencies(), name.casefold()
        raw = await self._redis.hget(key, field_)
        known: dict[str, Any] = json.loads(raw) if raw else {"name": name, "licence": ""}
        known["cases"] = int(known.get("cases", 0)) + 1
        known["licence"] = licence or known["licence"]
        await self._redis.hset(key, field_, json.dumps(known, ensure_ascii=False))

    async def all(self) -> list[dict[str, Any]]:
        """Every agency, most named first."""
        raw = await self._redis.hvals(self._keys.agencies())
        found = [json.loads(r) for r in raw]
        return sorted(found, key=lambda a: (-a["cases"], a["name"].casefold()))
