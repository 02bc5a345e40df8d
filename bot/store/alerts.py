"""Awareness alerts: who asked for them, and each alert an editor wrote.

- A worker opts in per country (the one they work in) and per channel (the one they
  write on): a set of senders per country. One word ("STOP") opts out; an erasure
  removes them too. The session remembers the subscription, so a message costs no
  extra Redis call to know whether "STOP" means the alerts.
- An alert is written by one editor and approved by another; approving takes the list
  of its recipients at that moment (opted in for its country, on its channels), and the
  sender (bot/alerts.py) works through that list, counting what was sent, what failed,
  who blocked the bot and who could not be reached (WhatsApp's window closed, no
  template).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis

from bot.nlu.countries import COUNTRIES
from bot.store.keys import Keys

MAX_TEXT = 1000
CHANNELS = ("telegram", "whatsapp")
OUTCOMES = ("sent", "failed", "blocked", "skipped")
# The states of an alert.
DRAFT, SENDING, DONE = "draft", "sending", "done"
# The sending turn: taken if free, or renewed by the process that holds it - in one step,
# so a turn that lapses between a check and a renewal is never renewed for another.
_CLAIM = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


class AlertError(ValueError):
    """An alert that cannot be kept or approved as it is."""


@dataclass
class Alert:
    id: str
    title: str
    country: str
    # Language -> text ("id", "en").
    texts: dict[str, str]
    channels: list[str]
    written_by: str
    state: str = DRAFT
    approved_by: str = ""
    created_at: float = field(default_factory=time.time)
    approved_at: float = 0.0
    finished_at: float = 0.0
    recipients: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))

    def text(self, lang: str) -> str:
        return self.texts.get(lang) or self.texts.get("id") or self.texts.get("en") or ""

    @property
    def left(self) -> int:
        return max(0, self.recipients - sum(self.counts.values()))


def _check(alert: Alert, countries: tuple[str, ...]) -> None:
    if not alert.title.strip():
        raise AlertError("a title is needed")
    if alert.country not in countries:
        raise AlertError("choose the country it is for")
    if not alert.channels or any(c not in CHANNELS for c in alert.channels):
        raise AlertError("choose at least one channel")
    if not all(alert.texts.get(lang, "").strip() for lang in ("id", "en")):
        raise AlertError("write it in both languages")
    if any(len(t) > MAX_TEXT for t in alert.texts.values()):
        raise AlertError(f"at most {MAX_TEXT} characters per language")
    if any(re.search(r"https?://", t) for t in alert.texts.values()):
        # A link in a mass message is what scams look like: workers are told never to
        # trust one. Phone numbers and names only.
        raise AlertError("no links: workers are told never to trust links in messages")


def _record(alert: Alert) -> str:
    """The alert as kept; its counts live in their own hash (Alerts.count)."""
    data = asdict(alert)
    del data["counts"]
    return json.dumps(data, ensure_ascii=False)


class Alerts:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys
        self._claim = redis.register_script(_CLAIM)

    # -- subscriptions ------------------------------------------------------------------

    async def subscribe(self, sender: str, country: str, before: str | None = None) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            if before and before != country:
                pipe.srem(self._keys.alert_subscribers(before), sender)
            pipe.sadd(self._keys.alert_subscribers(country), sender)
            await pipe.execute()

    async def unsubscribe(self, sender: str, country: str | None) -> None:
        """Off for good; ``country``: where the session says they were subscribed (an
        erasure without a session passes None: every country is looked at)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            for each in [country] if country else COUNTRIES:
                pipe.srem(self._keys.alert_subscribers(each), sender)
            await pipe.execute()

    async def subscribers(self, country: str, channels: list[str]) -> list[str]:
        members = await self._redis.smembers(self._keys.alert_subscribers(country))
        return sorted(str(m) for m in members if str(m).partition(":")[0] in channels)

    async def counts(self, countries: tuple[str, ...]) -> dict[str, dict[str, int]]:
        """Subscribers per country and channel."""
        found: dict[str, dict[str, int]] = {}
        for country in countries:
            members = await self.subscribers(country, list(CHANNELS))
            found[country] = {c: sum(m.startswith(c + ":") for m in members) for c in CHANNELS}
        return found

    # -- alerts -------------------------------------------------------------------------

    async def save(self, alert: Alert, countries: tuple[str, ...]) -> Alert:
        """A new draft, or a draft changed (an approved alert cannot be changed)."""
        _check(alert, countries)
        if alert.id:
            kept = await self.get(alert.id)
            if kept is None or kept.state != DRAFT:
                raise AlertError("only a draft can be changed")
        else:
            alert.id = f"{int(time.time())}-{secrets.token_hex(3)}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.alert(alert.id), _record(alert))
            pipe.zadd(self._keys.alerts(), {alert.id: alert.created_at})
            await pipe.execute()
        return alert

    async def get(self, alert_id: str) -> Alert | None:
        found = await self._read([alert_id])
        return found[0] if found else None

    async def all(self, limit: int = 50) -> list[Alert]:
        ids = await self._redis.zrevrange(self._keys.alerts(), 0, limit - 1)
        return await self._read([str(i) for i in ids])

    async def _read(self, alert_ids: list[str]) -> list[Alert]:
        """The alerts with their counts so far, in one round trip; missing ones left out."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for alert_id in alert_ids:
                pipe.get(self._keys.alert(alert_id))
                pipe.hgetall(self._keys.alert_counts(alert_id))
            replies: list[Any] = await pipe.execute()
        found = []
        for raw, counts in zip(replies[::2], replies[1::2], strict=True):
            if raw is None:
                continue
            alert = Alert(**json.loads(raw))
            for outcome, count in counts.items():
                alert.counts[str(outcome)] = int(count)
            found.append(alert)
        return found

    async def delete(self, alert_id: str) -> None:
        alert = await self.get(alert_id)
        if alert is None or alert.state != DRAFT:
            raise AlertError("only a draft can be deleted")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.alert(alert_id))
            pipe.zrem(self._keys.alerts(), alert_id)
            await pipe.execute()

    async def approve(self, alert_id: str, by: str) -> Alert:
        """A second editor's approval: the recipients are taken now, and sending starts."""
        alert = await self.get(alert_id)
        if alert is None or alert.state != DRAFT:
            raise AlertError("only a draft can be approved")
        if by == alert.written_by:
            raise AlertError("another editor must approve it")
        recipients = await self.subscribers(alert.country, alert.channels)
        alert.state, alert.approved_by, alert.approved_at = SENDING, by, time.time()
        alert.recipients = len(recipients)
        # Two editors approving at once: only the first one's approval sends it.
        if not await self._redis.sadd(self._keys.alerts_sending(), alert_id):
            raise AlertError("it was approved already")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.alert(alert_id), _record(alert))
            if recipients:
                pipe.rpush(self._keys.alert_todo(alert_id), *recipients)
            await pipe.execute()
        return alert

    async def sending(self) -> list[str]:
        return sorted(str(i) for i in await self._redis.smembers(self._keys.alerts_sending()))

    async def next_recipient(self, alert_id: str) -> str | None:
        """The next worker to send to; taken off the list (a process that dies while
        sending to them does not send it again)."""
        found = await self._redis.lpop(self._keys.alert_todo(alert_id))
        return None if found is None else str(found)

    async def count(self, alert_id: str, outcome: str) -> None:
        await self._redis.hincrby(self._keys.alert_counts(alert_id), outcome, 1)

    async def finish(self, alert_id: str) -> None:
        alert = await self.get(alert_id)
        if alert is None:
            return
        alert.state, alert.finished_at = DONE, time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.alert(alert_id), _record(alert))
            pipe.srem(self._keys.alerts_sending(), alert_id)
            pipe.delete(self._keys.alert_todo(alert_id))
            await pipe.execute()

    async def claim_sending(self, process: str, seconds: float) -> bool:
        """One process sends alerts at a time (the platforms' rate limits are per bot):
        True while this one holds the turn (renewed by calling again)."""
        held = await self._claim(
            keys=[self._keys.alerts_sender()], args=[process, int(seconds * 1000)]
        )
        return bool(held)
