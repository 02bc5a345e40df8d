"""kill -9 of a bot process while it sends a reply to Telegram (issue 20).

Regression: a reply was kept in the outbox and its message marked answered before it was
sent, in one step; then the process sent it. A process that died during the send (the
request to Telegram in flight, or not yet made) left a message marked answered: the
process that took it over did not answer it again, and the worker - who wrote that their
employer hit them - never got the reply. Now the reply is kept, in the same step, until
Telegram has taken it, and the process that takes over sends what the dead one did not.

Against the real processes: two `helpline run` on one Redis and one Rasa, each polling
its own server of one Telegram stand-in (so the test knows which process sent what). The
stand-in never answers the first send to the worker - a request in flight - and the
process that made it is killed. The other one sends the whole reply, once, within 5 s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from bot.store.connection import connect_redis
from bot.store.keys import Keys
from bot.store.outbox import Outbox
from bot.store.sealing import Sealer, parse_keys
from tests import processes
from tests.eventually import eventually
from tests.standin import serving
from tests.telegram_standin import TOKEN, person, running_bot_api, text, to_chat

pytestmark = pytest.mark.rasa

GROUP = -100999
WORKER = 7301
RECOVERY_SECONDS = 5.0


async def test_a_reply_in_flight_when_its_process_dies_reaches_the_worker(
    redis_url: str, rasa_url: str, key_prefix: str, tmp_path: Path
) -> None:
    env = processes.environment(
        redis_url,
        rasa_url,
        key_prefix,
        HELPLINE_TELEGRAM_OPERATORS_CHAT=str(GROUP),
        HELPLINE_TELEGRAM_TOKEN=TOKEN,
    )
    async with running_bot_api() as api, serving(api.app("bot1")) as second:
        bots = [
            processes.start(tmp_path, "bot0", dict(env, HELPLINE_TELEGRAM_API_URL=api.base)),
            processes.start(tmp_path, "bot1", dict(env, HELPLINE_TELEGRAM_API_URL=second)),
        ]
        try:
            for bot in bots:
                await processes.ready(bot)
            api.hold = to_chat(WORKER)
            api.push(
                text(person(WORKER, "id"), "tolong majikan sy mukul sy td malam, sy di hongkong")
            )
            held = await eventually(lambda: api.held, what="a reply on its way", seconds=30)
            victim = bots[1] if held[0][0] == "bot1" else bots[0]
            survivor = bots[0] if victim is bots[1] else bots[1]
            mark = len(api.calls)
            api.hold = None
            os.kill(victim.process.pid, signal.SIGKILL)
            killed = time.monotonic()

            first = await api.wait_for("sendMessage", lambda p: int(p["chat_id"]) == WORKER,
                                       after=mark, seconds=15)  # fmt: skip
            recovered = time.monotonic() - killed
            # The emergency is in front of the operators (whichever process posted it).
            await api.wait_for("sendMessage", lambda p: int(p["chat_id"]) == GROUP, seconds=15)
            kept = await _transcript(env, f"telegram:{WORKER}")
            await eventually(lambda: api.texts_to(WORKER, after=mark),
                             lambda got: len(got) >= len(kept), seconds=10,
                             what="the whole reply")  # fmt: skip
            await asyncio.sleep(1.0)  # a second copy would come now
            got = api.texts_to(WORKER, after=mark)
            assert survivor.process.poll() is None, survivor.output()
        finally:
            for bot in bots:
                processes.stop(bot)
    print(f"\nthe reply reached the worker {recovered:.2f} s after the kill")
    assert first["text"] == kept[0], (first, kept)
    # The whole reply, each message once, in order - as the transcript keeps it.
    assert got == kept, (got, kept)
    assert recovered <= RECOVERY_SECONDS, recovered


async def _transcript(env: dict[str, str], sender: str) -> list[str]:
    """What the bot said to the worker, as kept in the outbox."""
    redis = connect_redis(env["HELPLINE_REDIS_URL"])
    try:
        keys = Sealer(tuple(parse_keys(env["HELPLINE_DATA_KEY"])))
        outbox = Outbox(redis, Keys(env["HELPLINE_KEY_PREFIX"]), keys)
        return [str(m["text"]) for _, m in await outbox.read(sender, count=1000)
                if m.get("from") == "bot"]  # fmt: skip
    finally:
        await redis.aclose()
