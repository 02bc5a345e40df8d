"""Many open event streams while workers chat: streams must not slow or stop the intake.

Starts the whole helpline (bench/stack.py) as its own process, opens ``--webchat``
web chat event streams (two per conversation) and ``--console`` console live streams
(ten per signed-in operator), keeps them all open, and meanwhile plays 20 conversations
through the web chat API (bench/webchat_load.py's script). Prints the reply latency
(median, p95, p99) beside the same load with no stream open, how many requests failed,
how many streams were still open at the end, and how many connections the Redis server
had.

Target (issue 18): with 1,000 open streams, message p95 <= 300 ms and no request fails.
Run: .venv/bin/python -m bench.streams_load [--webchat 800] [--console 200]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import time
from typing import Any

import aiohttp
import redis

from bench.stack import Stack, helpline_stack
from bench.webchat_load import _load
from bot.nlu_model.metrics import percentile

PASSWORD = "bench operator password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PER_OPERATOR = 10


async def _hold(
    session: aiohttp.ClientSession, url: str, open_: list[int], stop: asyncio.Event
) -> None:
    async with session.get(url) as response:
        if response.status != 200:
            raise SystemExit(f"a stream was refused: HTTP {response.status}")
        open_[0] += 1
        try:
            while not stop.is_set():
                try:
                    line = await asyncio.wait_for(response.content.readline(), 1.0)
                except TimeoutError:
                    continue
                if not line:
                    raise SystemExit("a stream ended while it should have stayed open")
        finally:
            open_[0] -= 1


async def _webchat_streams(
    base: str, count: int, open_: list[int], stop: asyncio.Event, session: aiohttp.ClientSession
) -> list[asyncio.Task[None]]:
    tasks = []
    for _ in range(count // 2):
        async with session.post(f"{base}/api/chat/conversations") as response:
            token = (await response.json())["token"]
        for _ in range(2):
            async with session.post(
                f"{base}/api/chat/tickets", headers={"Authorization": f"Bearer {token}"}
            ) as response:
                ticket = (await response.json())["ticket"]
            url = f"{base}/api/chat/events?ticket={ticket}"
            tasks.append(asyncio.create_task(_hold(session, url, open_, stop)))
    return tasks


async def _console_streams(
    base: str, operators: int, open_: list[int], stop: asyncio.Event
) -> tuple[list[asyncio.Task[None]], list[aiohttp.ClientSession]]:
    tasks, sessions = [], []
    for n in range(operators):
        session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            connector=aiohttp.TCPConnector(limit=0),
        )
        sessions.append(session)
        async with session.get(f"{base}/console/login") as response:
            token = CSRF.findall(await response.text())[0]
        form = {"username": f"watch{n}", "password": PASSWORD, "csrf_token": token}
        async with session.post(f"{base}/console/login", data=form) as response:
            assert response.status == 200, response.status
        url = f"{base}/console/events"
        tasks += [
            asyncio.create_task(_hold(session, url, open_, stop)) for _ in range(PER_OPERATOR)
        ]
    return tasks, sessions


def _add_operators(stack: Stack, count: int) -> None:
    for n in range(count):
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "users", "add", f"watch{n}", "--role", "operator",
             "--password-stdin"],
            input=PASSWORD.encode(), env=stack.env, check=True, capture_output=True,
        )  # fmt: skip


async def _run(stack: Stack, webchat: int, console: int, rounds: int) -> dict[str, Any]:
    await _load(stack.base, 1, 1, [])  # warm-up
    alone: list[float] = []
    await _load(stack.base, 20, rounds, alone)  # the same load with no stream open
    stop = asyncio.Event()
    open_ = [0]
    streams = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    tasks = await _webchat_streams(stack.base, webchat, open_, stop, streams)
    more, sessions = await _console_streams(stack.base, console // PER_OPERATOR, open_, stop)
    tasks += more
    for _ in range(100):
        if open_[0] >= len(tasks):
            break
        await asyncio.sleep(0.1)
    held = open_[0]
    latencies: list[float] = []
    failures = 0
    started = time.perf_counter()
    try:
        await _load(stack.base, 20, rounds, latencies)
    except AssertionError:
        failures += 1
    elapsed = time.perf_counter() - started
    still = open_[0]
    clients = len(redis.Redis.from_url(stack.redis_url).client_list())
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await streams.close()
    for session in sessions:
        await session.close()
    return {
        "alone": alone,
        "held": held,
        "still": still,
        "latencies": latencies,
        "failures": failures,
        "elapsed": elapsed,
        "redis_clients": clients,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--webchat", type=int, default=800)
    parser.add_argument("--console", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with helpline_stack(
        HELPLINE_STREAMS_PER_ADDRESS="5000",
        HELPLINE_STREAMS_TOTAL="5000",
        HELPLINE_CONVERSATIONS_PER_ADDRESS_HOUR="5000",
    ) as stack:
        _add_operators(stack, args.console // PER_OPERATOR)
        result = asyncio.run(_run(stack, args.webchat, args.console, args.rounds))
    latencies = result["latencies"]
    kinds = f"{args.webchat} web chat, {args.console} console"
    print(f"open streams          : {result['held']} ({kinds})")
    print(f"still open at the end : {result['still']}")
    took = f"{result['elapsed']:.1f} s"
    print(f"messages              : {len(latencies)} from 20 conversations in {took}")
    print(f"reply latency median  : {statistics.median(latencies):.0f} ms")
    print(f"reply latency p95     : {percentile(latencies, 95):.0f} ms   (target <= 300 ms)")
    print(f"reply latency p99     : {percentile(latencies, 99):.0f} ms")
    alone = result["alone"]
    print(
        f"with no stream open   : median {statistics.median(alone):.0f} ms, p95 "
        f"{percentile(alone, 95):.0f} ms (p95 ratio with/without streams: "
        f"{percentile(latencies, 95) / percentile(alone, 95):.2f})"
    )
    print(f"failed requests       : {result['failures']}   (target 0)")
    print(f"Redis connections     : {result['redis_clients']} (all clients of the server)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
