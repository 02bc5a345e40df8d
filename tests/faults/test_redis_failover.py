"""A Redis primary failover through Sentinel under load (issue 20).

Against the real processes: a Redis primary, its replica and three sentinels (redis-server
in sentinel mode), and `helpline run` given only the sentinels. Ten workers write while the
primary is killed with SIGKILL; the sentinels promote the replica and the helpline follows
it. A message answered "accepted" was confirmed by the replica (WAIT 1), so none is lost in
the failover; a worker told "not sent" sends it again, as the web chat page does. Every
accepted message is answered exactly once, in order, and the time without service is
printed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import aiohttp
import pytest

from bot.redis_ha import redis_with_sentinels
from bot.store.connection import connect_redis
from bot.store.keys import Keys
from bot.store.outbox import Outbox
from bot.store.sealing import Sealer, parse_keys
from tests import processes
from tests.conftest import nlu_nowhere
from tests.faults.test_kill_a_bot import ASKS, _kind

WORKERS = 10
SECONDS = 12.0


async def _worker(
    session: aiohttp.ClientSession, url: str, index: int, outage: list[float]
) -> tuple[str, list[str]]:
    """Writes for SECONDS, one press at a time; a press not accepted is sent again."""
    async with session.post(f"{url}/api/chat/conversations") as response:
        created = await response.json()
    headers = {"Authorization": f"Bearer {created['token']}", "Accept-Language": "en"}
    sent: list[str] = []
    deadline = time.monotonic() + SECONDS
    n = 0
    while time.monotonic() < deadline:
        ask = ASKS[n % 2]
        body = {"payload": ask, "text": ask, "client_message_id": f"{index}-{n}"}
        while True:
            try:
                async with session.post(
                    f"{url}/api/chat/messages", json=body, headers=headers
                ) as response:
                    await response.read()
                    status = response.status
            except aiohttp.ClientError:
                status = 0
            if status == 200:
                break
            outage.append(time.monotonic())
            await asyncio.sleep(0.2)
        sent.append(ask)
        n += 1
    return created["conversation_id"], sent


@pytest.mark.timeout(300)
async def test_a_primary_failover_loses_and_repeats_nothing(
    tmp_path: Path, key_prefix: str
) -> None:
    with redis_with_sentinels(tmp_path / "redis") as ha:
        env = processes.environment(ha.url, nlu_nowhere(), key_prefix)
        del env["HELPLINE_REDIS_URL"]
        env.update(
            HELPLINE_REDIS_SENTINELS=ha.sentinel_addresses,
            HELPLINE_REDIS_PASSWORD=ha.password,
            # Each worker writes about 60 messages a minute here: no rate limit in the way.
            HELPLINE_RATE_LIMIT="1000",
        )
        bot = processes.start(tmp_path, "bot", env)
        try:
            await processes.ready(bot, "/readyz")
            outage: list[float] = []
            async with aiohttp.ClientSession() as session:
                load = asyncio.gather(
                    *(_worker(session, bot.url, i, outage) for i in range(WORKERS))
                )
                await asyncio.sleep(3)
                os.kill(ha.primary.process.pid, signal.SIGKILL)
                killed = time.monotonic()
                conversations = await load
            assert ha.current_primary() == ha.replica.port, "the replica was not promoted"
        finally:
            processes.stop(bot)
        without_service = max(outage, default=killed) - killed
        print(f"\nfailover: {len(outage)} refused sends, service back {without_service:.1f} s "
              "after the kill")  # fmt: skip

        redis = connect_redis(ha.url)
        try:
            sealer = Sealer(tuple(parse_keys(env["HELPLINE_DATA_KEY"])))
            outbox = Outbox(redis, Keys(key_prefix), sealer)
            for conversation, sent in conversations:
                transcript = await outbox.read(f"webchat:{conversation}", count=1000)
                asked = [k for _, m in transcript if m.get("from") == "bot" and (k := _kind(m))]
                assert asked == sent, (conversation, len(asked), len(sent))
        finally:
            await redis.aclose()
