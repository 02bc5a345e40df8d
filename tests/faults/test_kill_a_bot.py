"""kill -9 of one of two bot processes in the middle of a burst (issue 20, defect 1).

Regression: the dead process's conversation locks lapsed only after 60 s and its
unacknowledged messages were taken over only after 60 s idle: emergencies sent in that
window waited up to 67 s, and messages it held were answered after later ones.

Against the real processes: two `helpline run` on one Redis and one Rasa server; eight
workers each send ten messages in quick succession (not waiting for answers, as Telegram
and WhatsApp deliver them) to the process that lives; the other is killed while the burst
is being handled. Every accepted message is answered, once, in the order sent, and what
the dead process held is answered within 5 s of the kill.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.store.connection import connect_redis
from bot.store.inbox import entry_order
from bot.store.keys import Keys
from bot.store.outbox import Outbox
from bot.store.sealing import Sealer, parse_keys
from tests import processes

pytestmark = pytest.mark.rasa

WORKERS = 30
MESSAGES = 10
# Two button presses whose answers tell them apart: which question came back.
ASKS = ("settings:language", "settings:country")
RECOVERY_SECONDS = 5.0
SPACING = 0.03


def _kind(message: dict[str, Any]) -> str | None:
    payloads = [b.get("payload", "") for b in message.get("buttons") or []]
    if any(p.startswith("lang:") for p in payloads):
        return ASKS[0]
    if any(p.startswith("country:") for p in payloads):
        return ASKS[1]
    return None


async def _worker(
    session: aiohttp.ClientSession, url: str, index: int, start: float
) -> tuple[str, list[str], list[tuple[float, float, dict[str, Any]]]]:
    """Opens a conversation, then sends MESSAGES presses SPACING apart without waiting for
    the answers; returns the conversation and (sent, answered, body) per message."""
    async with session.post(f"{url}/api/chat/conversations") as response:
        created = await response.json()
    headers = {"Authorization": f"Bearer {created['token']}", "Accept-Language": "en"}
    # An ordinary first message first: the conversation exists before the burst.
    async with session.post(
        f"{url}/api/chat/messages", json={"payload": "lang:en", "text": "English"}, headers=headers
    ) as response:
        assert response.status == 200
        first = await response.json()

    async def send(n: int) -> tuple[float, float, dict[str, Any]]:
        await asyncio.sleep(max(0.0, start + n * SPACING + index * 0.003 - time.monotonic()))
        sent = time.monotonic()
        body = {"payload": ASKS[n % 2], "text": ASKS[n % 2], "client_message_id": f"{index}-{n}"}
        async with session.post(f"{url}/api/chat/messages", json=body, headers=headers) as r:
            assert r.status == 200, await r.text()
            answer = await r.json()
        return sent, time.monotonic(), {**answer, "asked": ASKS[n % 2]}

    results = await asyncio.gather(*(send(n) for n in range(MESSAGES)))
    before = [k for m in first["replies"] if (k := _kind(m))]
    return created["conversation_id"], before, list(results)


async def test_kill_9_of_one_bot_mid_burst(
    redis_url: str, rasa_url: str, key_prefix: str, tmp_path: Path
) -> None:
    env = processes.environment(redis_url, rasa_url, key_prefix)
    async with processes.bots(tmp_path, env) as (survivor, victim), aiohttp.ClientSession() as s:
        start = time.monotonic() + 1.0
        burst = asyncio.gather(*(_worker(s, survivor.url, i, start) for i in range(WORKERS)))
        # Into the burst: both processes are handling it.
        await asyncio.sleep(1.0 + MESSAGES * SPACING / 2)
        os.kill(victim.process.pid, signal.SIGKILL)
        killed = time.monotonic()
        conversations = await burst

    late = [
        answered - killed
        for _, _, results in conversations
        for sent, answered, _ in results
        if sent < killed < answered
    ]
    # Nothing accepted was lost: every press was answered (none left "pending").
    for _, _, results in conversations:
        for _, _, body in results:
            assert body["pending"] is False and body["replies"], body
    assert max(late, default=0.0) <= RECOVERY_SECONDS, sorted(late)

    # Answered once each, in the order accepted (the inbox entry ids; requests sent
    # 30 ms apart can be accepted in another order): the transcript asks the same
    # questions in that order.
    redis = connect_redis(redis_url)
    try:
        outbox = Outbox(
            redis, Keys(key_prefix), Sealer(tuple(parse_keys(env["HELPLINE_DATA_KEY"])))
        )
        for conversation, before, results in conversations:
            accepted = sorted(
                (entry_order(body["message_id"]), body["asked"]) for _, _, body in results
            )
            transcript = await outbox.read(f"webchat:{conversation}", count=1000)
            asked = [k for _, m in transcript if m.get("from") == "bot" and (k := _kind(m))]
            assert asked == before + [what for _, what in accepted], asked
    finally:
        await redis.aclose()
    print(f"\nanswered after the kill: {len(late)} messages, slowest {max(late, default=0):.2f} s")
