"""Throughput of two bot processes and two Rasa servers against one and one (issue 20).

Starts, on this machine, one private Redis, two Rasa servers with the trained model and
three `helpline run` processes: one given one Rasa server (the small topology) and two
given both servers (the scaled-out one; a key prefix of their own, so they share no
inbox with the first). Web chat workers then ask free-text rights questions (each read
by the model, not a button press), one after the other per worker; in the scaled-out
topology the requests go round the two bots as a round-robin balancer would send them.
The topologies take turns, three rounds each; the median round of each is printed, with
the ratio and where the CPU time went (the bots, the Rasa servers, Redis and this load
generator, which all share the machine's cores).

No ratio is asserted: on a machine with few cores both topologies share the same CPUs,
so a second process pair can only use what the first left idle.
Run: .venv/bin/python -m bench.scale_out [--workers 40] [--messages 15] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.net import free_port
from bot.nlu_model.rasa_env import RasaProject, rasa_server, stop_process
from bot.redis_server import PID_FILE, private_redis
from bot.store.sealing import new_key

QUESTIONS = (
    "brp gaji minimum di hongkong skrg?",
    "libur sy hrs hari minggu ya?",
    "how much can the agency charge me",
    "klo kontrak habis siapa yg bayar tiket pulang",
    "where can I get a free lawyer",
)
# The answer when the model could not be asked: a bench reading it measured the lexicon.
NOT_READ = "cannot understand messages right now"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Topology:
    name: str
    urls: list[str]
    # Process ids whose CPU time is counted, by role.
    pids: dict[str, list[int]]
    rates: list[float] = field(default_factory=list)
    # CPU seconds per role over the timed rounds, and the rounds' wall time.
    cpu: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    messages: int = 0


def wait_ready(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} was not ready within {seconds:.0f} s") from None
            time.sleep(0.3)


def start_bot(folder: Path, env: dict[str, str]) -> tuple[str, subprocess.Popen[bytes]]:
    folder.mkdir(parents=True)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=dict(os.environ, HELPLINE_DATA_DIR=str(folder), HELPLINE_PORT=str(port), **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return f"http://127.0.0.1:{port}", process


def start_rasa(stack: ExitStack, folder: Path, count: int) -> list[tuple[str, int]]:
    """``count`` Rasa servers with the trained model: (url, pid). One after the other from
    this thread: a server asks to end with the thread that started it (parent-death
    signal), so one started from a pool thread would end with that thread."""
    project = RasaProject.default()
    model, _ = project.train()
    started = []
    for index in range(count):
        pid_file = folder / f"rasa{index}.pid"
        url = stack.enter_context(rasa_server(project, free_port(), model=model, pid_file=pid_file))
        started.append((url, int(pid_file.read_text())))
    return started


async def worker(session: aiohttp.ClientSession, urls: Iterator[str], messages: int) -> None:
    """One conversation: language and country first (button presses), then ``messages``
    questions, each answered (by the model) before the next."""
    async with session.post(f"{next(urls)}/api/chat/conversations") as response:
        token = (await response.json())["token"]
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    script = [{"payload": "lang:en", "text": "English"}, {"payload": "country:hong_kong"}]
    script += [{"text": QUESTIONS[n % len(QUESTIONS)]} for n in range(messages)]
    for body in script:
        async with session.post(
            f"{next(urls)}/api/chat/messages", json=body, headers=headers
        ) as response:
            answer = await response.json()
            if response.status != 200 or not answer["replies"] or answer["pending"]:
                raise SystemExit(f"a message was not answered: {response.status} {answer}")
            if any(NOT_READ in r["text"] for r in answer["replies"]):
                raise SystemExit("a question was not read by the model: is a Rasa server down?")


async def one_round(urls: list[str], workers: int, messages: int) -> tuple[float, int]:
    """Seconds taken and messages sent by ``workers`` conversations at once."""
    turns = itertools.cycle(urls)  # one balancer for all workers: round robin per request
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session, turns, messages) for _ in range(workers)))
        return time.perf_counter() - started, workers * (messages + 2)


def measure(topology: Topology, workers: int, messages: int) -> None:
    before = {role: sum(cpu_seconds(p) for p in pids) for role, pids in topology.pids.items()}
    mine = own_cpu_seconds()
    took, sent = asyncio.run(one_round(topology.urls, workers, messages))
    for role, pids in topology.pids.items():
        used = sum(cpu_seconds(p) for p in pids) - before[role]
        topology.cpu[role] = topology.cpu.get(role, 0.0) + used
    topology.cpu["load generator"] = topology.cpu.get("load generator", 0.0) + (
        own_cpu_seconds() - mine
    )
    topology.rates.append(sent / took)
    topology.wall += took
    topology.messages += sent


def report(topologies: list[Topology]) -> None:
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores; every process below shares them")
    for t in topologies:
        rounds = ", ".join(f"{r:.0f}" for r in t.rates)
        print(f"{t.name:<16}: {statistics.median(t.rates):6.1f} messages/s (median of {rounds})")
    for t in topologies:
        busy = sum(t.cpu.values()) / (t.wall * cores)
        parts = ", ".join(
            f"{role} {1000 * used / t.messages:.1f}" for role, used in sorted(t.cpu.items())
        )
        print(f"{t.name:<16}: CPU ms per message: {parts}; cores busy {100 * busy:.0f}%")
    small, big = (statistics.median(t.rates) for t in topologies)
    first = topologies[0]
    busy = sum(first.cpu.values()) / (first.wall * cores)
    print(f"scale-out: 2 bots + 2 Rasa vs 1 bot + 1 Rasa: {big / small:.2f}x "
          f"({big:.1f} vs {small:.1f} messages/s) on {cores} cores")  # fmt: skip
    print(f"what limits it: CPU - one bot and one Rasa server already kept the {cores} cores "
          f"{100 * busy:.0f}% busy, and a second pair shares the same cores (with Redis and "
          "this load generator); more processes pay off on more cores or machines")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=40)
    parser.add_argument("--messages", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        folder = Path(tmp)
        redis_url = stack.enter_context(private_redis(folder / "redis"))
        redis_pid = int((folder / "redis" / PID_FILE).read_text())
        (first, first_pid), (second, second_pid) = start_rasa(stack, folder, 2)
        limits = {
            "HELPLINE_REDIS_URL": redis_url,
            "HELPLINE_RATE_LIMIT": "100000",
            "HELPLINE_CONVERSATIONS_PER_ADDRESS_HOUR": "100000",
            "HELPLINE_STAFFED_HOURS": "always",
        }
        small_env = dict(limits, HELPLINE_NLU_URL=first, HELPLINE_KEY_PREFIX="scale-1")
        small_env["HELPLINE_DATA_KEY"] = new_key()
        big_env = dict(limits, HELPLINE_NLU_URL=f"{first},{second}", HELPLINE_KEY_PREFIX="scale-2")
        big_env["HELPLINE_DATA_KEY"] = new_key()
        bots = [
            start_bot(folder / "bot-small", small_env),
            start_bot(folder / "bot-big-0", big_env),
            start_bot(folder / "bot-big-1", big_env),
        ]
        for _, process in bots:
            stack.callback(stop_process, process)
        for url, _ in bots:
            wait_ready(url)
        small = Topology(
            "1 bot + 1 Rasa",
            [bots[0][0]],
            {"bots": [bots[0][1].pid], "Rasa": [first_pid], "Redis": [redis_pid]},
        )
        big = Topology(
            "2 bots + 2 Rasa",
            [bots[1][0], bots[2][0]],
            {
                "bots": [bots[1][1].pid, bots[2][1].pid],
                "Rasa": [first_pid, second_pid],
                "Redis": [redis_pid],
            },
        )
        for topology in (small, big):  # warm-up: the models' first parses, the pools
            asyncio.run(one_round(topology.urls, 4, 3))
        for _ in range(args.rounds):
            for topology in (small, big):
                measure(topology, args.workers, args.messages)
    print(f"workers: {args.workers} at once, {args.messages} questions each (+2 button presses)")
    report([small, big])
    return 0


if __name__ == "__main__":
    sys.exit(main())
