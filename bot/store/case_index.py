"""The case list's indexes and the reports' counters, kept in Redis as cases change.

Each case contributes a row: the case-list indexes it belongs to (sorted sets scored by
its opening time: open, status, priority, country, category, sector, channel, assignee,
shared with) and the counters it adds to, per month it was opened in and per filter
combination of the reports (country, sector, channel, each also "*" for any). A Lua
script swaps a case's old row for its new one in one step - it takes the old
contributions away and adds the new - so counters stay exact with any number of
processes writing, and the same script runs inside a case's MULTI transaction.
`helpline reindex` rebuilds everything from the case records.

Amounts are counted in cents (integers), so sums stay exact.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.store.keys import Keys

if TYPE_CHECKING:
    from bot.store.cases import Case

ANY = "*"
# Time buckets (upper edges in seconds) for time to claim, to the first human reply
# and to a partner's answer: percentiles are read from them, to the bucket's edge.
BUCKETS = (
    10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800,
)  # fmt: skip
OVER = "over"

_SWAP = """
local rows, id, prefix, new = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local function combos(d)
  local found = {}
  for _, c in ipairs({d[2], '*'}) do
    for _, s in ipairs({d[3], '*'}) do
      for _, ch in ipairs({d[4], '*'}) do
        found[#found + 1] = prefix .. 'stats:' .. d[1] .. ':' .. c .. ':' .. s .. ':' .. ch
      end
    end
  end
  return found
end
local function apply(row, sign)
  for _, key in ipairs(combos(row.d)) do
    for _, f in ipairs(row.f) do
      local now = redis.call('HINCRBYFLOAT', key, f[1], sign * f[2])
      if tonumber(now) == 0 then redis.call('HDEL', key, f[1]) end
    end
  end
  for _, z in ipairs(row.z) do
    if sign > 0 then
      redis.call('ZADD', prefix .. 'cases:idx:' .. z, row.t, id)
    else
      redis.call('ZREM', prefix .. 'cases:idx:' .. z, id)
    end
  end
end
local old = redis.call('HGET', rows, id)
if old then apply(cjson.decode(old), -1) end
if new == '' then
  redis.call('HDEL', rows, id)
  redis.call('ZREM', prefix .. 'cases:idx:ids', id)
else
  apply(cjson.decode(new), 1)
  redis.call('HSET', rows, id, new)
  -- Case numbers in one lexicographic index: a search by number is a range read.
  redis.call('ZADD', prefix .. 'cases:idx:ids', 0, id)
end
return 1
"""


def bucket(seconds: float) -> str:
    """The bucket a duration falls in: its upper edge, or "over"."""
    for edge in BUCKETS:
        if seconds <= edge:
            return str(edge)
    return OVER


def month_of(at: float) -> str:
    return time.strftime("%Y-%m", time.gmtime(at))


def channel_of(sender: str | None, details: dict[str, Any]) -> str:
    if sender:
        return sender.split(":", 1)[0]
    return str(details.get("channel") or "unknown")


def _clean(value: str) -> str:
    """A value as a key part: no separators."""
    return value.replace(":", "_") or "unknown"


@dataclass(frozen=True)
class Row:
    """One case's contributions."""

    dimensions: tuple[str, str, str, str]  # month, country, sector, channel
    fields: list[tuple[str, int]]
    indexes: list[str]
    score: float

    def encode(self) -> str:
        return json.dumps(
            {
                "d": list(self.dimensions),
                "f": [list(f) for f in self.fields],
                "z": self.indexes,
                "t": self.score,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )


def row_of(case: Case) -> Row:
    """What the case adds to the indexes and counters."""
    facts = case.facts
    country, sector = _clean(case.country or ""), _clean(str(facts.get("sector") or ""))
    channel = _clean(channel_of(case.sender, case.details))
    fields: list[tuple[str, int]] = [
        ("cases", 1),
        (f"category:{case.category}", 1),
        (f"intent:{case.intent}", 1),
        (f"country:{country}", 1),
        (f"sector:{sector}", 1),
        (f"channel:{channel}", 1),
        (f"priority:{case.priority}", 1),
        (f"status:{case.status}", 1),
    ]
    fields += [(f"violation:{v}", 1) for v in facts.get("violations") or []]
    if facts.get("against"):
        fields.append((f"against:{facts['against']}", 1))
    if facts.get("gender"):
        fields.append((f"gender:{facts['gender']}", 1))
    agency = facts.get("agency")
    if agency:
        fields.append((f"agency:{agency}", 1))
        fields.append((f"agency_violations:{agency}", len(facts.get("violations") or [])))
    currency = facts.get("currency")
    if currency:
        for what in ("owed", "recovered"):
            cents = round(float(facts.get(what) or 0) * 100)
            if cents:
                fields.append((f"{what}:{currency}", cents))
    if case.claimed_at is not None:
        waited = bucket(case.claimed_at - case.created_at)
        fields.append((f"claim:{case.priority}:{waited}", 1))
    if case.answered_at is not None:
        waited = bucket(case.answered_at - case.created_at)
        fields.append((f"reply:{case.priority}:{waited}", 1))
    if not case.is_open:
        fields.append((f"outcome:{case.outcome or 'unrecorded'}", 1))
    if case.rating.get("score"):
        fields.append((f"rating:{int(case.rating['score'])}", 1))
    for referral in case.referrals:
        partner = str(referral.get("partner") or "unknown")
        outcome = str(referral.get("outcome") or "pending")
        fields.append((f"referral:{partner}", 1))
        fields.append((f"referral_outcome:{outcome}:{partner}", 1))
        answered, sent = referral.get("outcome_at"), referral.get("at")
        if answered and sent:
            fields.append((f"referral_time:{bucket(answered - sent)}:{partner}", 1))
    indexes = [
        f"status:{case.status}",
        f"priority:{case.priority}",
        f"country:{country}",
        f"category:{case.category}",
        f"sector:{sector}",
        f"channel:{channel}",
        f"assignee:{case.assignee or 'none'}",
    ]
    if case.is_open:
        # The open cases' most asked-for narrowings, ready-made.
        indexes += ["open", f"open-priority:{case.priority}"]
        if case.assignee is None:
            indexes.append("unassigned-open")
        else:
            indexes.append(f"open-assignee:{case.assignee}")
        # What an operator sees of the open cases: theirs, shared with them, unclaimed.
        indexes += [f"open-shared:{name}" for name in case.shared_with]
    indexes += [f"shared:{name}" for name in case.shared_with]
    month = month_of(case.created_at)
    return Row((month, country, sector, channel), fields, indexes, case.created_at)


class CaseIndex:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys

    def stage(self, pipe: Pipeline, case: Case) -> None:
        """Queues the swap of the case's row on ``pipe`` (a MULTI with the case's save).
        EVAL with the script's text: a MULTI cannot load a script it does not know, and
        Redis compiles a text it has seen once only."""
        row = row_of(case).encode()
        pipe.eval(_SWAP, 1, self._keys.case_rows(), case.id, self._keys.prefix + ":", row)

    async def missing(self) -> bool:
        """Whether cases exist that no row counts (stored before the indexes were)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hlen(self._keys.case_rows())
            pipe.zcard(self._keys.cases_all())
            rows, cases = await pipe.execute()
        return int(rows) == 0 and int(cases) > 0

    async def claim_rebuild(self) -> bool:
        """One process rebuilds; the others see the mark (it lapses after an hour)."""
        return bool(await self._redis.set(self._keys.reindexing(), "1", nx=True, ex=3600))

    async def close(self) -> None:
        await self._redis.aclose()

    async def drop(self, case_id: str) -> None:
        await self._redis.eval(
            _SWAP, 1, self._keys.case_rows(), case_id, self._keys.prefix + ":", ""
        )

    async def clear(self) -> int:
        """Deletes every index, counter and row (before a rebuild)."""
        deleted = 0
        for pattern in (self._keys.case_index("*"), self._keys.stats("*")):
            async for key in self._redis.scan_iter(match=pattern, count=1000):
                deleted += int(await self._redis.delete(key))
        deleted += int(await self._redis.delete(self._keys.case_rows()))
        return deleted

    # -- reading ------------------------------------------------------------------------

    async def page(
        self, every: list[str], any_of: list[str], start: int, count: int
    ) -> tuple[list[str], int]:
        """Ids in all of the indexes ``every`` (and, if given, in at least one of
        ``any_of``), newest first: ``count`` of them from ``start``, and how many."""
        names = [self._name(n) for n in every]
        if len(names) == 1 and not any_of:
            key = names[0]
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zrevrange(key, start, start + count - 1)
                pipe.zcard(key)
                ids, total = await pipe.execute()
            return list(ids), int(total)
        scratch = self._keys.case_query(uuid.uuid4().hex)
        async with self._redis.pipeline(transaction=True) as pipe:
            # MIN keeps the opening time as the score (SUM would add them up).
            if any_of and not names:
                pipe.zunionstore(scratch, [self._name(n) for n in any_of], aggregate="MIN")
            else:
                if any_of:
                    union = scratch + ":any"
                    pipe.zunionstore(union, [self._name(n) for n in any_of], aggregate="MIN")
                    names.append(union)
                pipe.zinterstore(scratch, names, aggregate="MIN")
            pipe.zrevrange(scratch, start, start + count - 1)
            pipe.zcard(scratch)
            pipe.delete(scratch, scratch + ":any")
            found = await pipe.execute()
        return list(found[-3]), int(found[-2])

    async def numbers(self, start: str, limit: int) -> list[str]:
        """Case numbers that begin with ``start`` (upper case), in order."""
        found = await self._redis.zrangebylex(
            self._keys.case_index("ids"), f"[{start}", f"[{start}\xff", start=0, num=limit
        )
        return [str(number) for number in found]

    async def newest(self, every: list[str], any_of: list[str], limit: int) -> list[str]:
        """The newest ``limit`` ids of a query (what a text search reads)."""
        ids, _total = await self.page(every, any_of, 0, limit)
        return ids

    def _name(self, index: str) -> str:
        return self._keys.cases_all() if index == "all" else self._keys.case_index(index)

    async def counters(
        self, months: Iterable[str], country: str = ANY, sector: str = ANY, channel: str = ANY
    ) -> dict[str, dict[str, float]]:
        """Each month's counters under one filter combination: {month: {field: value}}."""
        months = list(months)
        async with self._redis.pipeline(transaction=False) as pipe:
            for month in months:
                pipe.hgetall(self._keys.stats(f"{month}:{country}:{sector}:{channel}"))
            found = await pipe.execute()
        return {
            month: {str(k): float(v) for k, v in raw.items()}
            for month, raw in zip(months, found, strict=True)
        }

    async def totals(
        self,
        months: Iterable[str],
        countries: Iterable[str],
        fields: list[str],
        sector: str = ANY,
        channel: str = ANY,
    ) -> dict[str, dict[str, float]]:
        """A few counters summed over the months, per country, in one round trip:
        {country: {field: value}} (fields that are all zero left out)."""
        months, countries = list(months), list(countries)
        async with self._redis.pipeline(transaction=False) as pipe:
            for country in countries:
                for month in months:
                    key = self._keys.stats(f"{month}:{country}:{sector}:{channel}")
                    pipe.hmget(key, fields)
            found = iter(await pipe.execute())
        summed: dict[str, dict[str, float]] = {}
        for country in countries:
            for _month in months:
                for field, value in zip(fields, next(found), strict=True):
                    if value is not None:
                        mine = summed.setdefault(country, {})
                        mine[field] = mine.get(field, 0.0) + float(value)
        return summed
