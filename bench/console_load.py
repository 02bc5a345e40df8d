"""The operator console under load: how fast an emergency becomes visible, in every form
it takes, and how fast the case list and search answer with 1,000 open cases.

Starts the whole helpline (bench/stack.py), signs an operator in over HTTP and keeps the
console's live event stream open, as a browser would. Then:
1. ``--emergencies`` workers (several at a time) each send an emergency through the web
   chat API; for each, the time from sending to the console having it on screen: its
   live event received and the queue fragment (what the page shows) fetched with it.
2. The same for ``--forms`` workers each of: a photo with an emergency caption
   (POST /api/chat/media), an "I am not safe" answer (the time from pressing the button
   to the console's "not safe" announcement), and the code word (sent one at a time:
   the bot's answer is harmless and names no case, so the next "watched" escalation
   is the one).
3. 1,000 open cases are added (through the helpline's own case store), and the case
   list, a text search and a filtered list are each requested ``--requests`` times.
Prints medians, p95 and p99.

Targets: every form of emergency visible within 1 s (p99; issues 4 and 17); case list
and search within 200 ms with 1,000 open cases.
Run: .venv/bin/python -m bench.console_load
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import statistics
import subprocess
import sys
import time
from typing import Any

import aiohttp

from bench.stack import KEY_PREFIX, Stack, helpline_stack
from bot.nlu.countries import COUNTRIES
from bot.nlu_model.metrics import percentile
from bot.store.cases import CaseStore, Priority, Status
from bot.store.connection import connect_redis
from bot.store.keys import Keys

PASSWORD = "bench operator password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CASE_ID = re.compile(r"PMI-\d{4}-\d{5}")
CODE_WORD = "pesan bunga mawar"
CAPTIONS = [
    "majikan pukul sy, ini foto tangan sy",
    "look what my employer did to my arm, she beat me",
    "ini kamar tempat sy dikunci, hp sy diambil",
]
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


# (what, case id) -> (when the console had it on screen, the escalation's marks)
Seen = dict[tuple[str, str], tuple[float, list[str]]]


async def _watch(
    session: aiohttp.ClientSession, base: str, seen: Seen, ready: asyncio.Event
) -> None:
    """The console page: on each new escalation or announcement it refreshes the queue
    fragment, as console.js does - one refresh at a time, and one more after it when
    events came in meanwhile. An event counts as on screen when a refresh that began
    after it shows its case."""
    waiting: dict[tuple[str, str], list[str]] = {}
    dirty = asyncio.Event()

    async def refresh() -> None:
        while True:
            await dirty.wait()
            dirty.clear()
            wanted = dict(waiting)
            async with session.get(f"{base}/console/queue/fragment") as fragment:
                page = await fragment.text()
            now = time.perf_counter()
            for key, marks in wanted.items():
                if key[1] in page:
                    seen.setdefault(key, (now, marks))
                    waiting.pop(key, None)

    refresher = asyncio.create_task(refresh())
    try:
        async with session.get(f"{base}/console/events") as response:
            async for raw in response.content:
                line = raw.decode().strip()
                if line.startswith("event: ready"):
                    ready.set()
                if not line.startswith("data: {") or '"escalation"' not in line:
                    continue
                event: dict[str, Any] = json.loads(line[6:])
                what = {"added": "new", "raised": "new"}.get(event.get("outcome", ""))
                if event.get("outcome") == "announced" and event.get("reason") == "not_safe":
                    what = "not_safe"
                if what is None:
                    continue
                waiting[(what, event["case_id"])] = event.get("marks") or []
                dirty.set()
    finally:
        refresher.cancel()


class Worker:
    """One worker of the web chat API."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base
        self.headers: dict[str, str] = {}

    async def start(self) -> None:
        async with self.session.post(f"{self.base}/api/chat/conversations") as response:
            conversation = await response.json()
        self.headers = {"Authorization": f"Bearer {conversation['token']}"}

    async def send(self, body: dict[str, Any]) -> str:
        async with self.session.post(
            f"{self.base}/api/chat/messages", json=body, headers=self.headers
        ) as response:
            assert response.status == 200
            return " ".join(r["text"] for r in (await response.json())["replies"])

    async def upload(self, caption: str) -> str:
        form = aiohttp.FormData()
        form.add_field("file", io.BytesIO(b"\xff\xd8 photo"), filename="p.jpg",
                       content_type="image/jpeg")  # fmt: skip
        form.add_field("caption", caption)
        async with self.session.post(
            f"{self.base}/api/chat/media", data=form, headers=self.headers
        ) as response:
            assert response.status == 200
            return " ".join(r["text"] for r in (await response.json())["replies"])


def _case_of(replies: str) -> str:
    found = CASE_ID.search(replies)
    if found is None:
        raise SystemExit(f"no case number in the bot's answer: {replies[:200]!r}")
    return found.group(0)


async def _emergency(
    base: str, form: str, index: int, sent: dict[tuple[str, str], float], lock: asyncio.Semaphore
) -> None:
    async with lock, aiohttp.ClientSession() as session:
        worker = Worker(session, base)
        await worker.start()
        if form == "text":
            started = time.perf_counter()
            case = _case_of(await worker.send({"text": EMERGENCIES[index % len(EMERGENCIES)]}))
            sent[("new", case)] = started
        elif form == "caption":
            started = time.perf_counter()
            case = _case_of(await worker.upload(CAPTIONS[index % len(CAPTIONS)]))
            sent[("new", case)] = started
        else:  # "not safe": an emergency first (not timed), then the answer
            case = _case_of(await worker.send({"text": EMERGENCIES[index % len(EMERGENCIES)]}))
            started = time.perf_counter()
            await worker.send({"payload": "safe:no", "text": "I am not safe"})
            sent[("not_safe", case)] = started


async def _code_words(base: str, count: int, seen: Seen) -> list[float]:
    """One at a time: the next new "watched" escalation after sending is this one's."""
    times: list[float] = []
    async with aiohttp.ClientSession() as session:
        for _ in range(count):
            worker = Worker(session, base)
            await worker.start()
            before = {key for key, (_at, marks) in seen.items() if "watched" in marks}
            started = time.perf_counter()
            await worker.send({"text": f"kak mau {CODE_WORD} 2 ya"})
            for _ in range(200):
                fresh = [
                    at
                    for key, (at, marks) in seen.items()
                    if "watched" in marks and key not in before
                ]
                if fresh:
                    times.append((min(fresh) - started) * 1000)
                    break
                await asyncio.sleep(0.005)
            else:
                raise SystemExit("a code word never appeared in the console")
    return times


async def _visibility(base: str, count: int, forms: int, at_once: int) -> dict[str, list[float]]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as console:
        await _sign_in(console, base)
        seen: Seen = {}
        ready = asyncio.Event()
        watcher = asyncio.create_task(_watch(console, base, seen, ready))
        await asyncio.wait_for(ready.wait(), 10)
        found: dict[str, list[float]] = {}
        for form, number in (("text", count), ("caption", forms), ("not_safe", forms)):
            sent: dict[tuple[str, str], float] = {}
            lock = asyncio.Semaphore(at_once)
            await asyncio.gather(*(_emergency(base, form, i, sent, lock) for i in range(number)))
            for _ in range(200):  # up to 10 s for the last ones
                if all(key in seen for key in sent):
                    break
                await asyncio.sleep(0.05)
            missing = [key for key in sent if key not in seen]
            if missing:
                raise SystemExit(f"{len(missing)} {form} emergencies never appeared in the console")
            found[form] = [(seen[key][0] - sent[key]) * 1000 for key in sent]
        found["code_word"] = await _code_words(base, forms, seen)
        watcher.cancel()
    return found


async def _one_login(base: str) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        await _sign_in(session, base)


async def _login_stall(base: str, logins: int) -> list[float]:
    """How long /healthz takes while ``logins`` people sign in at once: password hashing
    must not hold the event loop (it once stalled the server 1.4 s for 16 logins)."""
    latencies: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        async with aiohttp.ClientSession() as session:
            while not done.is_set():
                started = time.perf_counter()
                async with session.get(f"{base}/healthz") as response:
                    await response.read()
                latencies.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.02)

    prober = asyncio.create_task(probe())
    await asyncio.sleep(0.2)
    await asyncio.gather(*(_one_login(base) for _ in range(logins)))
    done.set()
    await prober
    return latencies


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
        [sys.executable, "-m", "bot.cli", "users", "add", "bench", "--role", "operator",
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
    parser.add_argument("--forms", type=int, default=50, help="captions, 'not safe', code words")
    parser.add_argument("--at-once", type=int, default=5)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    with helpline_stack(HELPLINE_STAFFED_HOURS="always", HELPLINE_CODE_WORDS=CODE_WORD) as stack:
        _add_operator(stack)
        visible = asyncio.run(_visibility(stack.base, args.emergencies, args.forms, args.at_once))
        stall = asyncio.run(_login_stall(stack.base, 16))
        asyncio.run(_seed_cases(stack.redis_url, args.cases))
        paths = [
            "/console/cases",
            "/console/cases?q=majikan+nomor+77&status=",
            "/console/cases?status=claimed&country=taiwan&priority=normal",
        ]
        times = asyncio.run(_list_times(stack.base, paths, args.requests))
    print(
        f"emergencies sent      : {len(visible['text'])} in words, {len(visible['caption'])} "
        f"as photo captions, {len(visible['not_safe'])} 'not safe' answers "
        f"({args.at_once} workers at a time), {len(visible['code_word'])} code words"
    )
    forms = {
        "text": "emergency visible in the console",
        "caption": "emergency caption visible",
        "not_safe": "'not safe' announced on the console",
        "code_word": "code word visible",
    }
    for form, name in forms.items():
        print(_line(name, visible[form], "(target p99 <= 1000 ms)"))
    print(
        f"/healthz during 16 logins at once    median {statistics.median(stall):6.0f} ms   "
        f"max {max(stall):6.0f} ms   (was a 1,400 ms stall)"
    )
    total = sum(len(v) for v in visible.values())
    print(f"open cases            : {args.cases} seeded + {total} emergencies")
    names = ["case list (open, page 1)", "search (text)", "filtered list"]
    for name, path in zip(names, paths, strict=True):
        print(_line(name, times[path], "(target <= 200 ms)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
