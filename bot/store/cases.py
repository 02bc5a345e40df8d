"""Cases: every emergency, complaint and request for a person becomes one."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from bot.store.keys import Keys


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
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Case:
        data = json.loads(raw)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def case_id_for(year: int, number: int) -> str:
    """An id people can read out on the phone: PMI-2026-00042."""
    return f"PMI-{year}-{number:05d}"


class CaseStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys

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
        year = time.gmtime().tm_year
        number = await self._redis.incr(self._keys.case_counter(year))
        case = Case(
            id=case_id_for(year, int(number)),
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
            pipe.set(self._keys.case(case.id), case.to_json())
            pipe.zadd(self._keys.cases_all(), {case.id: case.created_at})
            pipe.zadd(self._keys.cases_of(sender), {case.id: case.created_at})
            await pipe.execute()
        await self.add_event(case.id, "opened", {"priority": case.priority, "intent": intent})
        return case

    async def get(self, case_id: str) -> Case | None:
        raw = await self._redis.get(self._keys.case(case_id))
        return Case.from_json(raw) if raw else None

    async def save(self, case: Case) -> None:
        case.updated_at = time.time()
        await self._redis.set(self._keys.case(case.id), case.to_json())

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
        entry = json.dumps({"kind": kind, "at": time.time(), **data}, ensure_ascii=False)
        await self._redis.rpush(self._keys.case_timeline(case_id), entry)

    async def timeline(self, case_id: str) -> list[dict[str, Any]]:
        return [
            json.loads(e)
            for e in await self._redis.lrange(self._keys.case_timeline(case_id), 0, -1)
        ]

    async def unlink_sender(self, sender: str) -> int:
        """Erase the worker's identity and messages from their cases; the records stay.

        The written policy is in the README ("Deleting your data").
        """
        cases = await self.of_sender(sender)
        for case in cases:
            case.sender = None
            case.summary = ""
            case.details = {"erased_at": time.time()}
            await self.save(case)
            await self._redis.delete(self._keys.case_timeline(case.id))
            await self.add_event(case.id, "worker_data_erased", {})
        await self._redis.delete(self._keys.cases_of(sender))
        return len(cases)
