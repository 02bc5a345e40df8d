"""The operator console under load: how fast an emergency becomes visible, and how fast
the case list and search answer with 1,000 open cases.

Starts the whole helpline (bench/stack.py), signs an operator in over HTTP and keeps the
console's live event stream open, as a browser would. Then:
1. ``--emergencies`` workers (several at a time) each send an emergency through the web
   chat API; for each, the time from sending to the console having it on screen: its
   live event received and the queue fragment (what the page shows) fetched with it.
2. 1,000 open cases are added (through the helpline's own case store), and the case
   list, a text search and a filtered list are each requested ``--requests`` times.
Prints medians, p95 and p99.

Targets (issue 4): emergency visible within 1 s (p99); case list and search within
200 ms with 1,000 open cases.
Run: .venv/bin/python -m bench.console_load
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import time
from typing import Any

import aiohttp

from bench.stack import KEY_PREFIX, Stack, helpline_stack
from bot.app import connect_redis
from bot.nlu.countries import COUNTRIES
from bot.nlu.metrics import percentile
from bot.store.cases import CaseStore, Priority, Status
from bot.store.keys import Keys

PASSWORD = "bench operator password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
EMERGENCIES = [
    "tolong majikan sy mukul sy td malam",
    "help my employer beat me and I am bleeding",
    "sy dikunci di kamar gk dikasih makan",
    "anak majikan mau perkosa sy tolong",
    "I ran away, I am on the street at night with no money",
]


async def _sign_in(session: aiohttp.ClientSession, base: str) -> None:
    async with session.get(f"{base}/console/login") as response:
        token = CSRF.findall(await response.text())[0]
    form = {"username": "bench", "password": PASSWORD, "csrf_token": token}
    async with session.post(f"{base}/console/login", data=form) as response:
        assert response.status == 200 and "/console/queue" in str(response.url), response.status


async def _watch(
    session: aiohttp.ClientSession, base: str, seen: dict[str, float], ready: asyncio.Event
) -> None:
    """The console page: on each new escalation, fetch the queue fragment as it would."""
    async with session.get(f"{base}/console/events") as response:
        async for raw in response.content:
            line = raw.decode().strip()
            if line.startswith("event: ready"):
                ready.set()
            if not line.startswith("data: {") or '"escalation"' not in line:
                continue
            event: dict[str, Any] = json.loads(line[6:])
            if event.get("outcome") != "added":
                continue
            async with session.get(f"{base}/console/queue/fragment") as fragment:
                page = await fragment.text()
            if event["case_id"] in page:
                seen.setdefault(event["sender"], time.perf_counter())


async def _emergency(base: str, text: str, sent: dict[str, float], lock: asyncio.Semaphore) -> None:
    async with lock, aiohttp.ClientSession() as session:
        async with session.post(f"{base}/api/chat/conversations") as response:
            conversation = await response.json()
        headers = {"Authorization": f"Bearer {conversation['token']}"}
        sent[f"webchat:{conversation['conversation_id']}"] = time.perf_counter()
        async with session.post(
            f"{base}/api/chat/messages", json={"text": text}, headers=headers
        ) as response:
            assert response.status == 200


async def _visibility(base: str, count: int, at_once: int) -> list[float]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as console:
        await _sign_in(console, base)
        seen: dict[str, float] = {}
        ready = asyncio.Event()
        watcher = asyncio.create_task(_watch(console, base, seen, ready))
        await asyncio.wait_for(ready.wait(), 10)
        sent: dict[str, float] = {}
        lock = asyncio.Semaphore(at_once)
        await asyncio.gather(
            *(_emergency(base, EMERGENCIES[i % len(EMERGENCIES)], sent, lock) for i in range(count))
        )
        for _ in range(200):  # up to 10 s for the last ones
            if len(seen) >= len(sent):
                break
            await asyncio.sleep(0.05)
        watcher.cancel()
    missing = set(sent) - set(seen)
    if missing:
        raise SystemExit(f"{len(missing)} emergencies never appeared in the console")
    return [(seen[s] - sent[s]) * 1000 for s in sent]


async def _seed_cases(redis_url: str, count: int) -> None:
    redis = connect_redis(redis_url)
    cases = CaseStore(redis, Keys(KEY_PREFIX))
    statuses = [Status.NEW, Status.CLAIMED, Status.WAITING, Status.REFERRED]
    for i in range(count):
        case = await cases.open(
            sender=f"webchat:seed{i}",
            category="complaint" if i % 3 else "emergency",
            intent="complaint_wages" if i % 3 else "emergency_violence",
            priority=Priority.NORMAL if i % 3 else Priority.CRITICAL,
            country=COUNTRIES[i % len(COUNTRIES)],
            locale="id" if i % 2 else "en",
            summary=f"gaji sy blm dibayar {i % 12 + 1} bulan, majikan nomor {i}",
        )
        case.status = statuses[i % len(statuses)].value
        case.assignee = "bench" if case.status != Status.NEW.value else None
        await cases.save(case)
    await redis.aclose()


async def _list_times(base: str, paths: list[str], requests: int) -> dict[str, list[float]]:
    jar = aiohttp.CookieJar(unsafe=True)
    times: dict[str, list[float]] = {p: [] for p in paths}
    async with aiohttp.ClientSession(cookie_jar=jar) as console:
        await _sign_in(console, base)
        for _ in range(requests):
            for path in paths:
                started = time.perf_counter()
                async with console.get(f"{base}{path}") as response:
                    await response.read()
                    assert response.status == 200, path
                times[path].append((time.perf_counter() - started) * 1000)
    return times


def _add_operator(stack: Stack) -> None:
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "users", "add", "bench", "--role", "supervisor",
         "--password-stdin"],
        input=PASSWORD.encode(),
        env=stack.env,
        check=True,
    )  # fmt: skip


def _line(name: str, values: list[float], target: str) -> str:
    return (
        f"{name:<34} median {statistics.median(values):6.0f} ms   p95 "
        f"{percentile(values, 95):6.0f} ms   p99 {percentile(values, 99):6.0f} ms   {target}"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--emergencies", type=int, default=100)
    parser.add_argument("--at-once", type=int, default=5)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    with helpline_stack(HELPLINE_STAFFED_HOURS="always") as stack:
        _add_operator(stack)
        visible = asyncio.run(_visibility(stack.base, args.emergencies, args.at_once))
        asyncio.run(_seed_cases(stack.redis_url, args.cases))
        paths = [
            "/console/cases",
            "/console/cases?q=majikan+nomor+77&status=",
            "/console/cases?status=claimed&country=taiwan&priority=normal",
        ]
        times = asyncio.run(_list_times(stack.base, paths, args.requests))
    print(f"emergencies sent      : {len(visible)} ({args.at_once} workers at a time)")
    print(_line("emergency visible in the console", visible, "(target p99 <= 1000 ms)"))
    print(f"open cases            : {args.cases} seeded + {len(visible)} emergencies")
    names = ["case list (open, page 1)", "search (text)", "filtered list"]
    for name, path in zip(names, paths, strict=True):
        print(_line(name, times[path], "(target <= 200 ms)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
