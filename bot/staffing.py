"""Who is on duty: staffed hours and which operators are online now.

Workers waiting for a person are told honestly what to expect: their place in the
queue, whether anyone is online, how long people waited recently, and outside staffed
hours that nobody may answer until the team is back (with the emergency numbers).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import ConfigError
from bot.store.presence import PRESENCE_SECONDS, Presence

WaitSource = Callable[[], Awaitable[list[float]]]

__all__ = ["PRESENCE_SECONDS", "OnDuty", "Presence", "StaffedHours"]


@dataclass(frozen=True)
class StaffedHours:
    start: dt.time
    end: dt.time
    zone: ZoneInfo
    always: bool = False

    @classmethod
    def parse(cls, spec: str, zone: str) -> StaffedHours:
        """ "08:00-22:00" (may wrap past midnight, "20:00-06:00") or "always"."""
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"HELPLINE_TIMEZONE: unknown time zone {zone!r}") from exc
        if spec.strip().lower() in ("always", "24/7", "00:00-24:00"):
            return cls(dt.time(0), dt.time(0), tz, always=True)
        try:
            first, last = (dt.time.fromisoformat(p.strip()) for p in spec.split("-"))
        except ValueError as exc:
            raise ConfigError(
                f"HELPLINE_STAFFED_HOURS must look like 08:00-22:00 or 'always', not {spec!r}"
            ) from exc
        return cls(first, last, tz)

    def is_staffed(self, at: float | None = None) -> bool:
        if self.always:
            return True
        now = dt.datetime.fromtimestamp(time.time() if at is None else at, self.zone).time()
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def staffed_seconds(self, start: float, end: float) -> float:
        """How much of the time from ``start`` to ``end`` lies within staffed hours."""
        if end <= start:
            return 0.0
        if self.always:
            return end - start
        first = dt.datetime.fromtimestamp(start, self.zone).date() - dt.timedelta(days=1)
        last = dt.datetime.fromtimestamp(end, self.zone).date()
        total = 0.0
        day = first
        while day <= last:
            opens = dt.datetime.combine(day, self.start, self.zone)
            closes_on = day if self.start < self.end else day + dt.timedelta(days=1)
            closes = dt.datetime.combine(closes_on, self.end, self.zone)
            overlap = min(end, closes.timestamp()) - max(start, opens.timestamp())
            total += max(0.0, overlap)
            day += dt.timedelta(days=1)
        return total

    def describe(self) -> str:
        if self.always:
            return "24/7"
        return f"{self.start:%H:%M}-{self.end:%H:%M} ({self.zone.key})"


def typical_wait_minutes(waits: list[float]) -> int | None:
    """The median of recent waits, in whole minutes (at least 1), if there are enough."""
    if len(waits) < 3:
        return None
    return max(1, round(statistics.median(waits) / 60))


@dataclass(frozen=True)
class Outlook:
    """What a worker waiting for a person can honestly be told."""

    staffed: bool
    online: int
    typical_minutes: int | None
    hours: str


class OnDuty:
    def __init__(self, hours: StaffedHours, presence: Presence, recent_waits: WaitSource) -> None:
        self.hours, self.presence, self._recent_waits = hours, presence, recent_waits

    async def outlook(self) -> Outlook:
        online = len(await self.presence.online())
        return Outlook(
            staffed=self.hours.is_staffed() or online > 0,
            online=online,
            typical_minutes=typical_wait_minutes(await self._recent_waits()),
            hours=self.hours.describe(),
        )
