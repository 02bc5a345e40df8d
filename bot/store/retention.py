"""How long what the helpline holds is kept, and the sweep that applies it.

Most keys carry their own lifetime (Redis TTLs, set where they are written); the rules
that need a sweep are applied here, once an hour by one bot process:
- a case closed (or resolved) more than ``case_days`` ago keeps only its anonymous
  record - number, category, intent, country, priority, status, dates, the facts
  operators recorded and the worker's score - for the NGO's figures: its summary,
  details, marks, shares, referral notes, the worker's comment, timeline (and its words
  in the search index) and files go;
- dead letters (webhook payloads that could not be processed) older than
  ``dead_letter_days`` go;
- audit entries older than ``audit_days`` go (the log is also capped in size).
``report()`` says what is held, how old it is, and what goes when (`helpline retention`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from bot.store.cases import OPEN_STATUSES, Case, CaseStore
from bot.store.keys import Keys

if TYPE_CHECKING:
    from bot.config import Settings

HOUR = 3600


@dataclass(frozen=True)
class Rules:
    case_days: float = 730.0
    dead_letter_days: float = 30.0
    audit_days: float = 730.0

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        return cls(settings.case_retention_days, settings.dead_letter_days, settings.audit_days)


@dataclass
class Held:
    """One kind of data: how much, the oldest, and what the next sweeps will remove."""

    kind: str
    count: int = 0
    oldest: float | None = None
    due: int = 0
    rule: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _id_time(entry_id: str) -> float:
    return int(str(entry_id).split("-")[0]) / 1000


class Retention:
    def __init__(
        self, redis: Redis, redis_binary: Redis, keys: Keys, cases: CaseStore, rules: Rules
    ) -> None:
        self._redis, self._binary, self._keys = redis, redis_binary, keys
        self._cases, self.rules = cases, rules

    async def sweep_if_due(self) -> bool:
        """At most once an hour, in one process."""
        if not await self._redis.set(self._keys.retention_sweep(), "1", nx=True, ex=HOUR):
            return False
        await self.sweep()
        return True

    async def sweep(self) -> dict[str, int]:
        now = time.time()
        reduced = 0
        for case in await self._cases.all():
            if self._expired(case, now) and not case.details.get("reduced_at"):
                await self._reduce(case, now)
                reduced += 1
        dead = await self._trim(
            self._keys.whatsapp_dead(), now - self.rules.dead_letter_days * 86400
        )
        audit = await self._trim(self._keys.audit(), now - self.rules.audit_days * 86400)
        return {"cases": reduced, "dead_letters": dead, "audit": audit}

    def _expired(self, case: Case, now: float) -> bool:
        return case.status not in OPEN_STATUSES and (
            now - case.updated_at > self.rules.case_days * 86400
        )

    async def _reduce(self, case: Case, now: float) -> None:
        """The anonymous record stays; everything that tells the story goes."""
        refs = [
            str((e.get("media") or {}).get("ref"))
            for e in await self._cases.timeline(case.id)
            if (e.get("media") or {}).get("ref")
        ]
        case.sender, case.summary = None, ""
        case.details = {"reduced_at": now}
        case.marks, case.shared_with = {}, []
        # The worker's own words about the help go; the score stays, with the facts.
        case.rating.pop("comment", None)
        case.referrals = [
            {"partner": r.get("partner", ""), "outcome": r.get("outcome", "")}
            for r in case.referrals
        ]
        await self._cases.save(case)
        await self._cases.forget_timeline(case.id)
        if refs:
            await self._binary.delete(*(self._keys.evidence(r) for r in refs))

    async def _trim(self, stream: str, before: float) -> int:
        min_id = f"{int(before * 1000)}-0"
        return int(await self._redis.xtrim(stream, minid=min_id, approximate=False))

    async def report(self) -> list[Held]:
        now = time.time()
        rules, soon = self.rules, now + 30 * 86400
        cases = await self._cases.all()
        open_cases = [c for c in cases if c.status in OPEN_STATUSES]
        full = [
            c for c in cases if c.status not in OPEN_STATUSES and not c.details.get("reduced_at")
        ]
        reduced = len(cases) - len(open_cases) - len(full)
        held = [
            Held(
                "open cases",
                len(open_cases),
                min((c.created_at for c in open_cases), default=None),
                rule="kept while open",
            ),
            Held(
                "closed cases (full)",
                len(full),
                min((c.updated_at for c in full), default=None),
                due=sum(1 for c in full if self._expired(c, soon)),
                rule=f"reduced to the anonymous record {rules.case_days:g} days after closing",
            ),
            Held("closed cases (anonymous record)", reduced, rule="kept for the figures"),
        ]
        for kind, stream, days in (
            ("dead letters", self._keys.whatsapp_dead(), rules.dead_letter_days),
            ("audit entries", self._keys.audit(), rules.audit_days),
        ):
            first: Any = await self._redis.xrange(stream, count=1)
            count = int(await self._redis.xlen(stream))
            oldest = _id_time(first[0][0]) if first else None
            cutoff = f"{int((soon - days * 86400) * 1000)}-0"
            due: Any = await self._redis.xrange(stream, max=cutoff, count=100_000)
            held.append(Held(kind, count, oldest, len(due), f"{days:g} days"))
        pattern = self._keys.session("*")
        sessions = [k async for k in self._redis.scan_iter(match=pattern, count=500)]
        held.append(Held("conversations", len(sessions), rule="180 days after the last message"))
        files = [
            k
            async for k in self._binary.scan_iter(match=self._keys.evidence("*"), count=500)
            if b":sender:" not in k and b":waiting:" not in k
        ]
        held.append(
            Held("files (evidence)", len(files), rule="365 days; 30 with no case; with the case")
        )
        return held
