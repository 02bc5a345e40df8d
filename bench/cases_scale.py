"""The case list, its filters and the reports at 1,000 and at 100,000 cases (issue 21).

Seeds cases through the helpline's own case store (its staging, so every case is
indexed and counted as the running helpline would): two years of cases over the five
countries, every status, facts on half of them (sector, agency, violations, amounts),
claims, replies, referrals and outcomes. Then starts the bot as its own process
(`helpline run`, no Rasa: the console does not need it), signs a supervisor in (with
the second factor, as a person would) and an operator, and requests each page
``--requests`` times. Prints the median and p95 of each, and Redis memory per case
taken by the indexes and counters.

Targets: the case list and every filter <= 200 ms p95, a report page <= 1 s.
Run: .venv/bin/python -m bench.cases_scale [--sizes 1000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import pyotp

from bench.stack import KEY_PREFIX, bot_process
from bot.net import free_port
from bot.nlu.countries import COUNTRIES
from bot.nlu_model.metrics import percentile
from bot.redis_server import private_redis
from bot.store.cases import Case, CaseStore, Priority, Status
from bot.store.connection import connect_redis
from bot.store.keys import Keys
from bot.store.sealing import Sealer

PASSWORD = "bench supervisor password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TOTP_SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
SECTORS = ("domestic", "care_home", "fishing", "plantation", "factory", "")
VIOLATIONS = ("documents_held", "wages_withheld", "underpaid", "no_rest_day", "violence")
OUTCOMES = ("resolved_paid", "resolved_unpaid", "referred_closed", "unreachable", "withdrawn")
PAGES = {
    "case list (open, page 1)": "/console/cases",
    "all cases, page 40": "/console/cases?status=&page=40",
    "closed in Taiwan": "/console/cases?status=closed&country=taiwan",
    "open emergencies": "/console/cases?status=open&priority=critical",
    "complaints, any status": "/console/cases?status=&category=complaint",
    "open, unassigned": "/console/cases?status=open&assignee=none",
    "one operator's open cases": "/console/cases?status=open&assignee=op7",
    "text search (case number)": "/console/cases?status=&q=PMI-2025-0004",
}
REPORTS = {
    "report page (12 months)": "/console/reports",
    "report, Hong Kong domestic": "/console/reports?country=hong_kong&sector=domestic",
    "report, 24 months by channel": "/console/reports?from={start}&channel=whatsapp",
    "chart (cases by category)": "/console/reports/chart/category.svg",
}


def _case(i: int, rng: random.Random, number: int, now: float) -> Case:
    created = now - rng.uniform(0, 730 * 86400)
    year = time.gmtime(created).tm_year
    status = rng.choice(list(Status))
    case = Case(
        id=f"PMI-{year}-{number:05d}" if number < 100_000 else f"PMI-{year}-{number}",
        sender=f"{rng.choice(('webchat', 'telegram', 'whatsapp'))}:seed{i}",
        category=rng.choice(("emergency", "complaint", "complaint", "other")),
        intent="complaint_employer",
        priority=rng.choice((Priority.CRITICAL, Priority.HIGH, Priority.NORMAL)).value,
        country=rng.choice((*COUNTRIES, None)),
        locale="id",
        summary=f"gaji sy blm dibayar {i % 12 + 1} bulan, majikan nomor {i}",
        status=status.value,
        created_at=created,
    )
    if status != Status.NEW:
        case.assignee = f"op{rng.randrange(20)}"
        case.claimed_at = created + rng.expovariate(1 / 600)
        case.answered_at = case.claimed_at + rng.expovariate(1 / 300)
    if rng.random() < 0.5:
        case.facts = {
            "sector": rng.choice(SECTORS),
            "against": "agency",
            "agency": f"PT Agensi {rng.randrange(200)}",
            "violations": sorted(rng.sample(VIOLATIONS, rng.randrange(4))),
            "currency": "HKD",
            "owed": float(rng.randrange(0, 20000)),
            "recovered": float(rng.randrange(0, 5000)),
        }
    if rng.random() < 0.2:
        case.referrals = [
            {"partner": "KJRI", "outcome": "accepted", "at": created, "outcome_at": created + 9e4}
        ]
    if status in (Status.RESOLVED, Status.CLOSED):
        case.outcome, case.closed_at = rng.choice(OUTCOMES), created + 86400
    return case


async def _seed(redis_url: str, count: int, start: int, data_dir: Path) -> float:
    """Adds ``count`` cases, sealed with the helpline's key as it seals them; returns
    the seconds it took."""
    redis = connect_redis(redis_url)
    store = CaseStore(redis, Keys(KEY_PREFIX), Sealer.load(None, data_dir))
    rng, now = random.Random(start), time.time()
    began = time.perf_counter()
    for first in range(start, start + count, 500):
        async with redis.pipeline(transaction=False) as pipe:
            for i in range(first, min(first + 500, start + count)):
                store.stage_new(pipe, _case(i, rng, i + 1, now))
            await pipe.execute()
        if (first - start) % 20_000 == 0 and count >= 20_000:
            print(f"  seeded {first - start:,} of {count:,}", file=sys.stderr, flush=True)
    await redis.aclose()
    return time.perf_counter() - began


async def _memory(redis_url: str) -> int:
    redis = connect_redis(redis_url)
    used = int((await redis.info("memory"))["used_memory"])
    await redis.aclose()
    return used


async def _sign_in(session: aiohttp.ClientSession, base: str, username: str) -> None:
    async with session.get(f"{base}/console/login") as response:
        token = CSRF.findall(await response.text())[0]
    form = {"username": username, "password": PASSWORD, "csrf_token": token}
    async with session.post(f"{base}/console/login", data=form) as response:
        page, path = await response.text(), response.url.path
    if path == "/console/account/2fa":
        secret = TOTP_SECRET.findall(page)[0].replace(" ", "")
        form = {"code": pyotp.TOTP(secret).now(), "csrf_token": CSRF.findall(page)[0]}
        async with session.post(f"{base}/console/account/2fa", data=form) as response:
            assert response.status == 200, await response.text()


async def _times(
    session: aiohttp.ClientSession, base: str, paths: dict[str, str], n: int
) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(n):
        for name, path in paths.items():
            began = time.perf_counter()
            async with session.get(f"{base}{path}", allow_redirects=False) as response:
                await response.read()
                assert response.status == 200, (path, response.status)
            found[name].append((time.perf_counter() - began) * 1000)
    return found


async def _run(base: str, url: str, data_dir: Path, sizes: list[int], requests: int) -> None:
    """Signs the supervisor and an operator in once, then for each size: seeds up to it
    and measures every page."""
    start_month = time.strftime("%Y-%m", time.gmtime(time.time() - 700 * 86400))
    reports = {k: v.format(start=start_month) for k, v in REPORTS.items()}
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as boss,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as operator,
    ):
        await _sign_in(boss, base, "boss")
        await _sign_in(operator, base, "op7")
        seeded, empty = 0, await _memory(url)
        for size in sizes:
            took = await _seed(url, size - seeded, seeded, data_dir)
            seeded = size
            used = await _memory(url)
            print(
                f"{size:,} cases (seeded in {took:.0f} s; Redis {used / 2**20:.0f} MiB, "
                f"{(used - empty) / size / 1024:.1f} KiB per case: record, indexes, counters)"
            )
            lists = await _times(boss, base, PAGES, requests)
            own = {"operator's own list": "/console/cases"}
            lists |= await _times(operator, base, own, requests)
            pages = await _times(boss, base, reports, max(5, requests // 4))
            for name, values in lists.items():
                print(_line(name, values, "(target p95 <= 200 ms)"), flush=True)
            for name, values in pages.items():
                print(_line(name, values, "(target p95 <= 1000 ms)"), flush=True)


def _add_user(env: dict[str, str], name: str, role: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "users", "add", name, "--role", role,
         "--password-stdin"],
        input=PASSWORD.encode(), env=env, check=True, capture_output=True,
    )  # fmt: skip


def _line(name: str, values: list[float], target: str) -> str:
    return (
        f"  {name:<32} median {statistics.median(values):6.0f} ms   "
        f"p95 {percentile(values, 95):6.0f} ms   {target}"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with (
        tempfile.TemporaryDirectory() as tmp,
        private_redis(Path(tmp) / "redis") as url,
        # No Rasa: the console does not need it (its URL is a closed port).
        bot_process(
            url, f"http://127.0.0.1:{free_port()}", tmp, HELPLINE_STAFFED_HOURS="always"
        ) as stack,
    ):
        _add_user(stack.env, "boss", "supervisor")
        _add_user(stack.env, "op7", "operator")
        asyncio.run(_run(stack.base, url, Path(tmp), sizes, args.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
