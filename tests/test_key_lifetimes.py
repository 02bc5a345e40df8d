"""Every key the helpline writes has a TTL or a stated retention rule (issue 20, defect 3).

Regression: per-conversation reply streams had no TTL and outlived the session and the
token; each web chat message left a 14-day duplicate key; the queue watch wrote a week-long
key per unclaimed emergency per minute. After conversations of every kind - a greeting, a
rights question, an emergency left waiting while the queue watch runs, a complaint, an
erasure - a scan of the helpline's keys finds none without a TTL outside bot/store/keys.py
RETAINED, and none of the short-lived marks living longer than they need.
"""

from __future__ import annotations

import asyncio

from bot.store.keys import retained
from tests.chat import Chat


async def test_every_key_has_a_lifetime_or_a_rule(desk: Chat, key_prefix: str) -> None:
    chat = desk
    for words in ("halo", "brp gaji minimum di hongkong", "majikan pukul saya"):
        worker = await chat.new_worker()
        await worker.say(words)
        await worker.say("terima kasih")
    leaving = await chat.new_worker()
    await leaving.say("majikan pukul saya, tolong")
    await leaving.press("privacy")
    await leaving.press("delete")
    await leaving.press("delete:confirm")
    # The queue watch runs over the waiting emergency for a while.
    await asyncio.sleep(2.5)

    redis = chat.redis
    unbounded: dict[str, int] = {}
    marks: dict[str, int] = {}
    async for key in redis.scan_iter(match=f"{key_prefix}:*", count=1000):
        ttl = await redis.ttl(key)
        if ttl < 0 and retained(key, key_prefix) is None:
            unbounded[key] = ttl
        if ":seen:webchat:" in key:
            marks[key] = ttl
    assert not unbounded, unbounded
    # A web chat message's duplicate mark lives a day, not a fortnight.
    assert marks and max(marks.values()) <= 86400, marks
