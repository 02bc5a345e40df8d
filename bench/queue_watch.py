"""Redis commands per second of an idle helpline with 440 unclaimed emergencies waiting
(issue 20, defect 3: the queue watch wrote one key per unclaimed emergency on every tick,
533 commands/s idle with 440 waiting).

Starts the whole helpline (bench/stack.py: a private Redis used by nothing else, the Rasa
server with the trained model, `helpline run` with its queue watch ticking every second),
and counts the commands Redis processed (INFO stats and commandstats) over quiet windows:
- nothing waiting: what every background loop of one bot process costs;
- 440 emergencies waiting, in their first minute;
- the same 440 after their first re-announcement (a minute on): the state the issue
  measured, when the queue watch used to write a key per emergency on every tick.
The emergencies are real: 440 web chat workers each write "tolong saya dipukul majikan",
and the bot opens a case and puts it on the operator queue; nobody claims them.

Run: .venv/bin/python -m bench.queue_watch [--emergencies 440] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
import urllib.request
from typing import Any

import aiohttp
import redis

from bench.stack import helpline_stack

EMERGENCY = "tolong saya dipukul majikan"
BEFORE = 533.0
# The default re-announcement interval (HELPLINE_REANNOUNCE_SECONDS).
REANNOUNCE_SECONDS = 60.0


def counted(client: redis.Redis) -> tuple[int, dict[str, int]]:
    """Commands processed so far, in all and per command."""
    total = int(client.info("stats")["total_commands_processed"])
    stats: Any = client.info("commandstats")
    return total, {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


def window(client: redis.Redis, seconds: float) -> tuple[float, dict[str, float]]:
    """Commands per second over ``seconds`` of quiet, in all and per command (the two
    INFO calls that measure it are left out)."""
    total, per = counted(client)
    time.sleep(seconds)
    total2, per2 = counted(client)
    rates = {name: (calls - per.get(name, 0)) / seconds for name, calls in per2.items()}
    rates["info"] = rates.get("info", 0.0) - 2 / seconds
    return (total2 - total - 2) / seconds, {n: r for n, r in rates.items() if r > 0}


def waiting_emergencies(base: str) -> int:
    """The bot's own figure of unclaimed emergencies (GET /metrics)."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        page = response.read().decode()
    found = re.search(r'^helpline_queue_depth\{priority="critical"\} (\S+)$', page, re.M)
    return int(float(found.group(1))) if found else 0


async def seed(base: str, count: int) -> None:
    """``count`` workers each report an emergency through the web chat."""
    slots = asyncio.Semaphore(20)

    async def one(session: aiohttp.ClientSession) -> None:
        async with slots:
            async with session.post(f"{base}/api/chat/conversations") as response:
                token = (await response.json())["token"]
            headers = {"Authorization": f"Bearer {token}"}
            body = {"text": EMERGENCY}
            async with session.post(
                f"{base}/api/chat/messages", json=body, headers=headers
            ) as response:
                answer = await response.json()
                if response.status != 200 or not answer["replies"]:
                    raise SystemExit(f"an emergency was not answered: {answer}")

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session) for _ in range(count)))


def top(rates: dict[str, float], count: int = 8) -> str:
    ordered = sorted(rates.items(), key=lambda pair: -pair[1])[:count]
    return ", ".join(f"{name} {rate:.1f}" for name, rate in ordered)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emergencies", type=int, default=440)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    limits = {"HELPLINE_CONVERSATIONS_PER_ADDRESS_HOUR": str(args.emergencies * 2)}
    with helpline_stack(**limits) as stack:
        client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
        try:
            time.sleep(3)  # start-up writes settle
            idle, idle_per = window(client, args.seconds)
            started = time.monotonic()
            asyncio.run(seed(stack.base, args.emergencies))
            seeded = time.monotonic()
            waiting = waiting_emergencies(stack.base)
            if waiting != args.emergencies:
                raise SystemExit(f"{waiting} emergencies on the queue, not {args.emergencies}")
            time.sleep(2)  # the seeding's own writes settle
            first, _ = window(client, args.seconds)
            # Every emergency past its first re-announcement, and the wave of those over.
            gap_from, (gap_total, _) = time.monotonic(), counted(client)
            time.sleep(max(0.0, seeded + REANNOUNCE_SECONDS + 3 - time.monotonic()))
            gap = time.monotonic() - gap_from
            wave = counted(client)[0] - gap_total - 2 - first * gap
            later, later_per = window(client, args.seconds)
            still = waiting_emergencies(stack.base)
        finally:
            client.close()
    n = args.emergencies
    print(
        f"one bot process, queue watch every 1 s; {n} emergencies seeded in "
        f"{seeded - started:.1f} s through the web chat, {still} still waiting at the end"
    )
    print(f"idle, nothing waiting             : {idle:6.1f} commands/s")
    print(f"idle, {n} waiting, first minute  : {first:6.1f} commands/s")
    print(
        f"queue watch: idle with {n} unclaimed emergencies waiting: {later:.1f} "
        f"commands/s ({later - idle:+.1f} over nothing waiting); before: {BEFORE:.0f}/s"
    )
    print(
        f"  and once a minute their re-announcement: about {wave:.0f} commands "
        f"({wave / REANNOUNCE_SECONDS:.1f}/s averaged over the minute)"
    )
    print(f"  by command, nothing waiting: {top(idle_per)}")
    print(f"  by command, {n} waiting      : {top(later_per)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
