"""kill -9 of the one Redis server under a running helpline, then Redis started again on
the same port and files (issue 20: "kill -9 and restart of Redis").

Against the real processes: a redis-server of the test's own with append-only
persistence and an fsync on every write (``appendfsync always``: what was answered
"accepted" is on disk before the answer), and `helpline run` on it. Thirty workers press
buttons one after the other while Redis is killed and stays down for longer than the
Redis client's retries (about 5 s), then is started again. Asserted:
- readiness (/readyz) says 503 while Redis is down and 200 again once it is back;
  liveness (/healthz) says 200 throughout, quickly;
- a send while Redis is down gets an honest 503 within a few seconds, not a hang and
  not a dropped connection; the worker sends it again (as the web chat page does);
- every message answered "accepted" is answered exactly once, in the order sent, by the
  same process (no restart), within RECOVERY_SECONDS of Redis being back.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.net import free_port
from bot.nlu_model.rasa_env import stop_process
from bot.processes import die_with_parent
from bot.redis_server import redis_server_binary
from bot.store.connection import answers, connect_redis
from bot.store.keys import Keys
from bot.store.outbox import Outbox
from bot.store.sealing import Sealer, parse_keys
from tests import processes
from tests.conftest import nlu_nowhere
from tests.eventually import eventually
from tests.faults.test_kill_a_bot import ASKS, _kind

WORKERS = 30
# Longer than the Redis client rides out (bot/store/connection.py: about 5 s of retries),
# so sends in the middle of it are refused rather than hidden.
DOWN_SECONDS = 8.0
# After Redis is back: ready again and answering within this (issue 20: seconds).
RECOVERY_SECONDS = 10.0
# No send waits longer than this, while Redis is down or after (a refusal included).
REFUSED_WITHIN = 8.0
# Between one worker's sends (each waits for its answer first): with this many workers,
# messages are at every stage of their handling when Redis dies.
PAUSE = 0.02


# What a worker had accepted (or the bot answered): which press, and when (wall clock).
Accepted = list[tuple[str, float]]


@dataclass(frozen=True)
class Sent:
    started: float
    finished: float
    status: int
    pending: bool = False


@dataclass(frozen=True)
class Probe:
    path: str
    started: float
    finished: float
    status: int


def _redis_server(folder: Path, port: int, password: str) -> subprocess.Popen[bytes]:
    """redis-server keeping every accepted write on disk before it answers."""
    folder.mkdir(exist_ok=True)
    folder.chmod(0o700)
    args = [
        "--bind", "127.0.0.1", "--port", str(port), "--requirepass", password,
        "--dir", str(folder), "--appendonly", "yes", "--appendfsync", "always",
        "--save", "", "--logfile", str(folder / "redis.log"),
    ]  # fmt: skip
    return subprocess.Popen(
        [redis_server_binary(), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        umask=0o077,
        preexec_fn=die_with_parent(),
    )


async def _answering(url: str) -> float:
    """Waits until Redis answers PING; the moment it did."""
    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        await eventually(lambda: answers(client), what="redis-server answers", seconds=30)
    finally:
        await client.aclose()
    return time.monotonic()


async def _probe(session: aiohttp.ClientSession, url: str, path: str) -> Probe:
    started = time.monotonic()
    try:
        async with session.get(f"{url}{path}", timeout=aiohttp.ClientTimeout(total=10)) as r:
            await r.read()
            status = r.status
    except (aiohttp.ClientError, TimeoutError):
        status = 0
    return Probe(path, started, time.monotonic(), status)


async def _watch_health(
    session: aiohttp.ClientSession, url: str, stop: asyncio.Event, probes: list[Probe]
) -> None:
    while not stop.is_set():
        probes.extend(
            await asyncio.gather(_probe(session, url, "/readyz"), _probe(session, url, "/healthz"))
        )
        await asyncio.sleep(0.2)


async def _worker(
    session: aiohttp.ClientSession, url: str, index: int, stop: asyncio.Event, log: list[Sent]
) -> tuple[str, Accepted]:
    """Presses buttons one at a time until ``stop``; a press not accepted is sent again
    with the same client_message_id. Returns the conversation and what was accepted,
    with when (wall clock, as the transcript's times)."""
    async with session.post(f"{url}/api/chat/conversations") as response:
        assert response.status == 201, await response.text()
        created = await response.json()
    headers = {"Authorization": f"Bearer {created['token']}", "Accept-Language": "en"}
    accepted: Accepted = []
    n = 0
    while not stop.is_set():
        ask = ASKS[n % 2]
        body = {"payload": ask, "text": ask, "client_message_id": f"{index}-{n}"}
        while True:
            started = time.monotonic()
            answer: dict[str, object] = {}
            try:
                async with session.post(
                    f"{url}/api/chat/messages",
                    json=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=60),
                ) as response:
                    status = response.status
                    if status == 200:
                        answer = await response.json()
                    else:
                        await response.read()
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            log.append(Sent(started, time.monotonic(), status, bool(answer.get("pending"))))
            if status == 200:
                break
            await asyncio.sleep(0.2)
        accepted.append((ask, time.time()))
        n += 1
        await asyncio.sleep(PAUSE)
    return created["conversation_id"], accepted


@pytest.mark.timeout(180)
async def test_redis_killed_and_restarted_loses_and_repeats_nothing(
    tmp_path: Path, key_prefix: str
) -> None:
    folder, port, password = tmp_path / "redis", free_port(), secrets.token_urlsafe(24)
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    servers = [_redis_server(folder, port, password)]
    bot = None
    log: list[Sent] = []
    probes: list[Probe] = []
    try:
        await _answering(url)
        env = processes.environment(url, nlu_nowhere(), key_prefix, HELPLINE_RATE_LIMIT="100000")
        bot = processes.start(tmp_path, "bot", env)
        await processes.ready(bot, "/readyz")
        stop, stop_watch = asyncio.Event(), asyncio.Event()
        async with aiohttp.ClientSession() as session:
            watch = asyncio.create_task(_watch_health(session, bot.url, stop_watch, probes))
            load = asyncio.gather(
                *(_worker(session, bot.url, i, stop, log) for i in range(WORKERS))
            )
            await eventually(lambda: len(log) >= 5 * WORKERS, what="the load under way")
            os.kill(servers[0].pid, signal.SIGKILL)
            killed = time.monotonic()
            servers[0].wait()
            await asyncio.sleep(DOWN_SECONDS)
            restarted = time.monotonic()
            servers.append(_redis_server(folder, port, password))
            back = await _answering(url)
            back_wall = time.time()
            # The load carries on for a while on the restarted Redis.
            await eventually(
                lambda: sum(s.started > back and s.status == 200 for s in log) >= 5 * WORKERS,
                what="messages accepted after Redis is back",
                seconds=RECOVERY_SECONDS + 30,
            )
            stop.set()
            conversations = await asyncio.wait_for(load, 60)
            stop_watch.set()
            await watch
        assert bot.process.poll() is None, "the helpline exited; it must ride Redis out"

        # Every message accepted before Redis came back is answered within RECOVERY_SECONDS
        # of it; later ones were answered before their sender sent the next.
        transcripts = await _transcripts(
            url, key_prefix, env["HELPLINE_DATA_KEY"], conversations, back + RECOVERY_SECONDS
        )
    finally:
        if bot is not None:
            processes.stop(bot)
        for server in servers:
            stop_process(server)

    lost = twice = caught = 0
    mismatched = []
    # How long after Redis was back the last message accepted before then was answered.
    backlog = 0.0
    for accepted, answered in transcripts:
        lost += max(0, len(accepted) - len(answered))
        twice += max(0, len(answered) - len(accepted))
        sent, got = [k for k, _ in accepted], [k for k, _ in answered]
        if got != sent:
            first = next((i for i, pair in enumerate(zip(sent, got, strict=False))
                          if pair[0] != pair[1]), min(len(sent), len(got)))  # fmt: skip
            mismatched.append({"accepted": len(sent), "answered": len(got), "first wrong": first,
                               "accepted at": round(accepted[first][1] - back_wall, 2)
                               if first < len(accepted) else None})  # fmt: skip
        for (_, accepted_at), (_, answered_at) in zip(accepted, answered, strict=False):
            if accepted_at < back_wall < answered_at:
                caught += 1
                backlog = max(backlog, answered_at - back_wall)
    down = back - killed
    ready_again = min(p.finished for p in probes if p.path == "/readyz" and p.started >= back
                      and p.status == 200) - back  # fmt: skip
    answering = min(s.finished for s in log if s.finished > back and s.status == 200
                    and not s.pending) - back  # fmt: skip
    refused = [s for s in log if s.status != 200]
    longest = max(s.finished - s.started for s in log)
    print(f"\nredis kill -9: down {down:.1f}s, answering again {answering:.1f}s after restart "
          f"(ready {ready_again:.1f}s; {caught} accepted before it answered within "
          f"{backlog:.1f}s), accepted {sum(len(a) for a, _ in transcripts)}, refused "
          f"{len(refused)} (longest send {longest:.1f}s), lost {lost}, "
          f"answered twice {twice}")  # fmt: skip

    # Every accepted message answered, once, in the order sent, soon after Redis is back
    # ("lost": not answered RECOVERY_SECONDS after it).
    assert lost == twice == 0 and not mismatched, (
        f"{lost} accepted messages not answered {RECOVERY_SECONDS:g} s after Redis was back, "
        f"{twice} answered twice; conversations out of step (times from Redis back): "
        f"{mismatched[:5]}"
    )
    assert max(ready_again, answering, backlog) <= RECOVERY_SECONDS, (
        ready_again, answering, backlog,
    )  # fmt: skip
    # Sends while Redis was down: refused honestly (503); no send hangs.
    assert refused, "no send was refused: Redis was not down long enough to be seen"
    assert all(s.status == 503 for s in refused), sorted({s.status for s in refused})
    assert longest <= REFUSED_WITHIN, longest
    # Readiness: 503 for every probe made wholly while Redis was down, each within 1.5 s.
    during = [p for p in probes if p.path == "/readyz" and killed + 0.5 < p.started
              and p.finished < restarted]  # fmt: skip
    assert during and all(p.status == 503 for p in during), [p.status for p in during]
    assert all(p.finished - p.started <= 1.5 for p in during), [
        round(p.finished - p.started, 2) for p in during
    ]
    # Liveness: 200 throughout, asking nothing of Redis.
    alive = [p for p in probes if p.path == "/healthz"]
    assert all(p.status == 200 for p in alive), sorted({p.status for p in alive})
    assert all(p.finished - p.started <= 1.0 for p in alive), max(
        p.finished - p.started for p in alive
    )


async def _transcripts(
    url: str,
    key_prefix: str,
    data_key: str,
    conversations: list[tuple[str, Accepted]],
    until: float,
) -> list[tuple[Accepted, Accepted]]:
    """Per conversation: what was accepted, and the bot's answers (which press each
    answers, and when it was kept), read once every accepted message has an answer or
    at ``until`` (time.monotonic())."""
    redis = connect_redis(url)
    outbox = Outbox(redis, Keys(key_prefix), Sealer(tuple(parse_keys(data_key))))

    async def read() -> list[tuple[Accepted, Accepted]]:
        found = []
        for conversation, accepted in conversations:
            transcript = await outbox.read(f"webchat:{conversation}", count=2000)
            answered = [(k, float(m["ts"])) for _, m in transcript
                        if m.get("from") == "bot" and (k := _kind(m))]  # fmt: skip
            found.append((accepted, answered))
        return found

    def complete(found: list[tuple[Accepted, Accepted]]) -> bool:
        return all(len(answered) >= len(accepted) for accepted, answered in found)

    try:
        return await eventually(
            read, complete, what="answers", seconds=max(0.0, until - time.monotonic())
        )
    except AssertionError:
        return await read()  # the assertions say what is missing
    finally:
        await redis.aclose()
