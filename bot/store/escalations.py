"""The operator queue: escalations on Redis Streams, read through one consumer group.

One stream per priority (emergencies, then complaints, then "talk to a person"); within
a priority the stream's own order is the age order. Every escalation is delivered into
the group at once, to the consumer ``waiting``: an escalation pending on ``waiting`` is
unclaimed, one pending on ``op:<username>`` is claimed by that operator. Claim, release
and transfer move the entry between consumers with XCLAIM inside a Lua script that first
checks who holds it, so two operators can never both claim it; the entry keeps its id,
so a released escalation goes back to its old place. Once the operator has answered the
worker the escalation is acknowledged and deleted: the case carries on without it.

A holder that disappears before answering (its presence lapsed) is noticed by the queue
watch (bot/queue_watch.py), which hands the entry back to ``waiting``: redelivered, not lost.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.store.cases import PRIORITY_RANK, Priority
from bot.store.events import Events
from bot.store.keys import Keys
from bot.store.sealing import Sealer

GROUP = "operators"
WAITING = "waiting"
_LIST_MAX = 1000
_WAITS_KEPT = 50

# KEYS: the three priority streams (critical, high, normal), then the live hash
# (case id -> "<rank>|<entry id>"). Helpers shared by the scripts below.
_LUA_LIVE = """
local function live(case)
  local found = redis.call('HGET', KEYS[4], case)
  if not found then return nil end
  local sep = string.find(found, '|', 1, true)
  local rank = tonumber(string.sub(found, 1, sep - 1))
  local id = string.sub(found, sep + 1)
  local pending = redis.call('XPENDING', KEYS[rank], 'operators', id, id, 1)
  if pending[1] == nil then
    redis.call('HDEL', KEYS[4], case)
    return nil
  end
  return rank, id, pending[1][2]
end
"""

# ARGV: case id, rank (1-3), data. Adds the escalation, or moves a waiting one up to a
# higher priority; an escalation already claimed keeps its holder.
_PUT = (
    _LUA_LIVE
    + """
local case, rank, data = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local old_rank, old_id, holder = live(case)
local outcome = 'added'
if old_rank then
  if old_rank <= rank then return {'kept', old_id} end
  if holder ~= 'waiting' then return {'claimed', old_id} end
  redis.call('XACK', KEYS[old_rank], 'operators', old_id)
  redis.call('XDEL', KEYS[old_rank], old_id)
  outcome = 'raised'
end
pcall(redis.call, 'XGROUP', 'CREATE', KEYS[rank], 'operators', '0', 'MKSTREAM')
local id = redis.call('XADD', KEYS[rank], '*', 'case', case, 'data', data)
redis.call('XREADGROUP', 'GROUP', 'operators', 'waiting', 'COUNT', 1000, 'STREAMS', KEYS[rank], '>')
redis.call('HSET', KEYS[4], case, rank .. '|' .. id)
return {outcome, id}
"""
)

# ARGV: case id, expected holder ('*' for anyone), new holder.
_MOVE = (
    _LUA_LIVE
    + """
local rank, id, holder = live(ARGV[1])
if not rank then return {'missing', ''} end
if ARGV[2] ~= '*' and holder ~= ARGV[2] then return {'held', holder} end
if holder == ARGV[3] then return {'same', holder} end
redis.call('XCLAIM', KEYS[rank], 'operators', ARGV[3], 0, id, 'JUSTID')
return {'ok', holder}
"""
)

# ARGV: new holder. The oldest waiting escalation of the highest priority.
_CLAIM_NEXT = """
for rank = 1, 3 do
  if redis.call('EXISTS', KEYS[rank]) == 1 then
    local pending = redis.call('XPENDING', KEYS[rank], 'operators', '-', '+', 1, 'waiting')
    if pending[1] ~= nil then
      local id = pending[1][1]
      redis.call('XCLAIM', KEYS[rank], 'operators', ARGV[1], 0, id, 'JUSTID')
      local entry = redis.call('XRANGE', KEYS[rank], id, id)
      return entry[1][2][2]
    end
  end
end
return false
"""

# ARGV: case id. 'waiting', 'claimed' or false.
_STATE = (
    _LUA_LIVE
    + """
local rank, id, holder = live(ARGV[1])
if not rank then return false end
if holder == 'waiting' then return 'waiting' end
return 'claimed'
"""
)

# ARGV: case id. Acknowledge and delete: the escalation did its job.
_DONE = (
    _LUA_LIVE
    + """
local rank, id = live(ARGV[1])
if not rank then return 0 end
redis.call('XACK', KEYS[rank], 'operators', id)
redis.call('XDEL', KEYS[rank], id)
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
"""
)


# What an escalation asks of the operators; each kind has its own waiting limit.
KINDS = ("emergency", "complaint", "human", "listen", "location")
SUMMARY_CHARS = 200


@dataclass(frozen=True)
class Escalation:
    case_id: str
    priority: str
    kind: str  # one of KINDS
    sender: str
    summary: str = ""
    created_at: float = field(default_factory=time.time)
    # The case's marks when it was queued (not_safe, watched...): shown in the queue.
    marks: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, raw: str | bytes) -> Escalation:
        data = json.loads(raw)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["marks"] = tuple(known.get("marks") or ())
        return cls(**known)


@dataclass(frozen=True)
class QueueEntry:
    escalation: Escalation
    entry_id: str
    # None while waiting; the operator's username once claimed.
    holder: str | None
    # Milliseconds since it was last delivered (put, claimed, released or transferred).
    idle_ms: int
    # The holder's consumer name in the group ("waiting" or "op:<username>").
    consumer: str

    @property
    def waited_seconds(self) -> float:
        return time.time() - self.escalation.created_at


class QueueError(Exception):
    """A claim, release or transfer that cannot happen; the message says why."""


class AlreadyClaimed(QueueError):
    def __init__(self, holder: str | None) -> None:
        super().__init__(f"already claimed by {holder}" if holder else "not claimed")
        self.holder = holder


class NotQueued(QueueError):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"{case_id} is not on the queue")


class EscalationQueue(Protocol):
    async def put(self, escalation: Escalation) -> str: ...

    async def position(self, case_id: str) -> int | None: ...

    async def is_queued(self, case_id: str) -> str | None: ...

    async def done(self, case_id: str) -> bool: ...


def _event_data(escalation: Escalation) -> dict[str, Any]:
    """What an event says of an escalation: never the worker's channel id."""
    data = asdict(escalation)
    data.pop("sender", None)
    data["marks"] = list(escalation.marks)
    return data


def consumer_of(username: str) -> str:
    return f"op:{username}"


def _holder(consumer: str) -> str | None:
    return None if consumer == WAITING else consumer.removeprefix("op:")


_PRIORITIES = sorted(Priority, key=PRIORITY_RANK.__getitem__)


class RedisEscalationQueue:
    def __init__(self, redis: Redis, keys: Keys, sealer: Sealer | None = None) -> None:
        """An entry's data (the summary: the worker's words) is sealed; the scripts read
        only the case id beside it."""
        self._redis, self._keys = redis, keys
        self._sealer = sealer or Sealer.plain()
        self._events = Events(redis, keys)
        self._put = redis.register_script(_PUT)
        self._move = redis.register_script(_MOVE)
        self._claim_next = redis.register_script(_CLAIM_NEXT)
        self._done = redis.register_script(_DONE)
        self._state = redis.register_script(_STATE)

    def _data(self, escalation: Escalation) -> str:
        return self._sealer.seal(json.dumps(asdict(escalation), ensure_ascii=False))

    def _stream(self, priority: Priority) -> str:
        return self._keys.escalations_of(priority.value)

    def _script_keys(self) -> list[str]:
        return [*(self._stream(p) for p in _PRIORITIES), self._keys.escalations_live()]

    async def put(self, escalation: Escalation) -> str:
        """Queue it; a case already queued is raised to a higher priority, not duplicated.

        Returns "added", "raised", "kept" (already queued at this priority or higher)
        or "claimed" (an operator already holds it: they are told of the new priority).
        """
        rank = PRIORITY_RANK[Priority(escalation.priority)] + 1
        outcome, _ = await self._put(
            keys=self._script_keys(), args=[escalation.case_id, rank, self._data(escalation)]
        )
        await self.published(escalation, str(outcome))
        return str(outcome)

    async def stage_put(self, pipe: Pipeline, escalation: Escalation) -> None:
        """``put`` queued on a MULTI pipeline; its reply is [outcome, entry id]. Call
        ``published`` with the outcome once the pipeline has run."""
        rank = PRIORITY_RANK[Priority(escalation.priority)] + 1
        args: list[str | int] = [escalation.case_id, rank, self._data(escalation)]
        await self._put(keys=self._script_keys(), args=args, client=pipe)

    async def published(self, escalation: Escalation, outcome: str) -> None:
        """Tells every console and the operators' group what ``put`` did."""
        await self._events.publish(
            "escalation", outcome=outcome, **_event_data(escalation), announcement=0
        )

    async def announce(
        self,
        escalation: Escalation,
        *,
        reason: str,
        number: int | str,
        waited: float = 0.0,
        assignee: str | None = None,
    ) -> None:
        """Announced again to every console and the operators' group: still unclaimed
        ("reannounce", "waiting_limit") or the worker says they are not safe
        ("not_safe"). ``number`` tells announcements apart (each is posted once)."""
        await self._events.publish(
            "escalation",
            **_event_data(escalation),
            outcome="announced",
            reason=reason,
            announcement=number,
            waited=round(waited),
            assignee=assignee,
        )

    async def is_queued(self, case_id: str) -> str | None:
        """ "waiting" or "claimed" while the case has a live escalation, else None."""
        found = await self._state(keys=self._script_keys(), args=[case_id])
        return str(found) if found else None

    async def entries(self) -> list[QueueEntry]:
        """Every queued escalation, waiting or claimed, by priority then age."""
        found: list[QueueEntry] = []
        for priority in _PRIORITIES:
            stream = self._stream(priority)
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.exists(stream)
                pipe.xrange(stream, count=_LIST_MAX)
                exists, raw = await pipe.execute()
            if not exists or not raw:
                continue
            pending: Any = await self._redis.xpending_range(stream, GROUP, "-", "+", _LIST_MAX)
            holders = {str(p["message_id"]): p for p in pending}
            for entry_id, fields in raw:
                held = holders.get(str(entry_id))
                if held is None or "data" not in fields:
                    continue
                consumer = str(held["consumer"])
                found.append(
                    QueueEntry(
                        escalation=Escalation.from_json(self._sealer.unseal(fields["data"])),
                        entry_id=str(entry_id),
                        holder=_holder(consumer),
                        idle_ms=int(held["time_since_delivered"]),
                        consumer=consumer,
                    )
                )
        return found

    async def waiting(self) -> list[QueueEntry]:
        return [e for e in await self.entries() if e.holder is None]

    async def find(self, case_id: str) -> QueueEntry | None:
        return next((e for e in await self.entries() if e.escalation.case_id == case_id), None)

    async def position(self, case_id: str) -> int | None:
        """1-based place of the case among waiting escalations, or None."""
        for place, entry in enumerate(await self.waiting(), start=1):
            if entry.escalation.case_id == case_id:
                return place
        return None

    async def claim(self, case_id: str, operator: str) -> None:
        """Atomic: exactly one of several operators claiming at once succeeds."""
        await self._move_entry(case_id, WAITING, consumer_of(operator))
        await self._note_wait(case_id)
        await self._events.publish("queue", action="claimed", case_id=case_id, by=operator)

    async def claim_next(self, operator: str) -> str | None:
        """Claims the oldest waiting escalation of the highest priority; its case id."""
        case_id = await self._claim_next(keys=self._script_keys(), args=[consumer_of(operator)])
        if not case_id:
            return None
        await self._note_wait(str(case_id))
        await self._events.publish("queue", action="claimed", case_id=case_id, by=operator)
        return str(case_id)

    async def release(self, case_id: str, operator: str | None = None) -> None:
        """Back to waiting, at its old place. ``operator``: only if they hold it."""
        expected = consumer_of(operator) if operator else "*"
        await self._move_entry(case_id, expected, WAITING)
        await self._events.publish("queue", action="released", case_id=case_id, by=operator)

    async def transfer(self, case_id: str, to: str, operator: str | None = None) -> None:
        expected = consumer_of(operator) if operator else "*"
        await self._move_entry(case_id, expected, consumer_of(to))
        await self._events.publish("queue", action="transferred", case_id=case_id, to=to)

    async def done(self, case_id: str) -> bool:
        """The escalation did its job (an operator answered, or the case closed)."""
        removed = bool(await self._done(keys=self._script_keys(), args=[case_id]))
        if removed:
            await self._events.publish("queue", action="done", case_id=case_id)
        return removed

    async def holder(self, case_id: str) -> str | None:
        entry = await self.find(case_id)
        return entry.holder if entry else None

    async def first_announcement(
        self, case_id: str, what: str, keep_seconds: float = 7 * 86400
    ) -> bool:
        """True for exactly one process: the one that makes this announcement."""
        key = self._keys.announced(case_id, what)
        return bool(await self._redis.set(key, "1", nx=True, ex=max(1, int(keep_seconds))))

    async def recent_waits(self) -> list[float]:
        """Seconds that the last escalations waited before someone claimed them."""
        raw = await self._redis.lrange(self._keys.escalation_waits(), 0, -1)
        return [float(x) for x in raw]

    async def _move_entry(self, case_id: str, expected: str, new: str) -> None:
        outcome, holder = await self._move(keys=self._script_keys(), args=[case_id, expected, new])
        if outcome == "missing":
            raise NotQueued(case_id)
        if outcome == "held":
            raise AlreadyClaimed(_holder(str(holder)))

    async def _note_wait(self, case_id: str) -> None:
        entry = await self.find(case_id)
        if entry is None:
            return
        key = self._keys.escalation_waits()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, round(entry.waited_seconds, 1))
            pipe.ltrim(key, 0, _WAITS_KEPT - 1)
            await pipe.execute()
