"""kill -9 of one of two Rasa servers mid-burst, then of the other (issue 20: "Rasa
killed"; several Rasa servers in HELPLINE_NLU_URL).

Against the real processes: two stock Rasa servers with the trained model, one
`helpline run` given both. Sixteen workers ask rights questions whose answers only the
model can choose (the crisis lexicon, all that reads with every server down, would
answer "I cannot understand messages right now"); one server is killed mid-burst. Every
question still gets the answer the model chose, from the survivor, without waiting for
the dead one. Then the survivor is killed too: an emergency still opens a case on the
operator queue and the worker gets the emergency answer, a question gets the honest
"cannot understand right now", and readiness says the NLU is down while staying 200
(only Redis down takes a bot out of the balancer: bot/app.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.net import free_port
from bot.nlu_model.rasa_env import RasaProject, rasa_server
from bot.store.cases import CaseStore, Priority
from bot.store.connection import connect_redis
from bot.store.escalations import RedisEscalationQueue
from bot.store.keys import Keys
from bot.store.sealing import Sealer, parse_keys
from tests import processes

pytestmark = pytest.mark.rasa

WORKERS = 16
# Each worker asks one question after the other for this long (about 10 a second each:
# some are always in a Rasa server's hands)...
BURST_SECONDS = 3.0
PAUSE = 0.05
# ...and the first server is killed this far into it.
KILL_AFTER = 1.2
# Two questions and words only the answer to each has (the knowledge base, in English).
QUESTIONS = (
    ("brp gaji minimum di hongkong skrg?", "Minimum Allowable Wage"),
    ("libur sy hrs hari minggu ya?", "rest day"),
)
NOT_READ = "cannot understand messages right now"
EMERGENCY = "tolong saya dipukul majikan"
# A message in flight when a server dies is answered by the other within this; so is an
# emergency sent with every server down.
RECOVERY_SECONDS = 2.0


@dataclass(frozen=True)
class Answer:
    sent: float
    answered: float
    status: int
    text: str
    expected: str


@dataclass(frozen=True)
class Rasa:
    url: str
    pid_file: Path

    def kill(self, how: signal.Signals = signal.SIGKILL) -> None:
        """kill -9 (or SIGSTOP: hung, not dead) of the server and anything it started
        (its own process group)."""
        os.killpg(int(self.pid_file.read_text()), how)

    def resume(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(self.pid_file.read_text()), signal.SIGCONT)


def _start_rasa(
    stack: ExitStack, project: RasaProject, model: Path, folder: Path, index: int
) -> Rasa:
    """A Rasa server with the trained model, stopped when ``stack`` closes. Started from
    the test's own thread: a server ends with the thread that started it (parent-death
    signal), so not from a pool thread."""
    pid_file, log = folder / f"rasa{index}.pid", folder / f"rasa{index}.log"
    server = rasa_server(project, free_port(), model=model, log_file=log, pid_file=pid_file)
    return Rasa(stack.enter_context(server), pid_file)


async def _post(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: dict[str, str]
) -> tuple[int, list[dict[str, Any]]]:
    async with session.post(f"{url}/api/chat/messages", json=body, headers=headers) as response:
        answer = await response.json()
        return response.status, answer.get("replies") or []


async def _conversation(session: aiohttp.ClientSession, url: str) -> tuple[str, dict[str, str]]:
    """A worker writing in English from Hong Kong: the conversation, the headers to write
    with."""
    async with session.post(f"{url}/api/chat/conversations") as response:
        created = await response.json()
    headers = {"Authorization": f"Bearer {created['token']}", "Accept-Language": "en"}
    for payload in ("lang:en", "country:hong_kong"):
        status, _ = await _post(session, url, headers, {"payload": payload, "text": payload})
        assert status == 200
    return created["conversation_id"], headers


def _text(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(r.get("text", "")) for r in replies)


async def _worker(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], index: int, start: float
) -> list[Answer]:
    """Questions one after the other (each answered first) for BURST_SECONDS."""
    answers = []
    await asyncio.sleep(max(0.0, start + index * 0.01 - time.monotonic()))
    n = index
    while time.monotonic() < start + BURST_SECONDS:
        question, expected = QUESTIONS[n % 2]
        sent = time.monotonic()
        status, replies = await _post(session, url, headers, {"text": question})
        answers.append(Answer(sent, time.monotonic(), status, _text(replies), expected))
        n += 1
        await asyncio.sleep(PAUSE)
    return answers


async def _ready(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with session.get(f"{url}/readyz") as response:
        return response.status, await response.json()


# A hung server (SIGSTOP) costs each request the NLU timeout before the next server is
# asked: the bounds grow by it.
HUNG_TIMEOUT = 1.5


@pytest.mark.timeout(240)
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGSTOP], ids=["kill-9", "stopped"])
async def test_rasa_servers_killed_one_then_the_other(
    project: RasaProject,
    trained_model: Path,
    redis_url: str,
    key_prefix: str,
    tmp_path: Path,
    how: signal.Signals,
) -> None:
    hung = how == signal.SIGSTOP
    recovery = RECOVERY_SECONDS + (HUNG_TIMEOUT if hung else 0.0)
    with ExitStack() as stack:
        first = _start_rasa(stack, project, trained_model, tmp_path, 1)
        second = _start_rasa(stack, project, trained_model, tmp_path, 2)
        # Stopped servers are let go on at the end, so they can be stopped cleanly.
        stack.callback(first.resume)
        stack.callback(second.resume)
        env = processes.environment(
            redis_url,
            f"{first.url},{second.url}",
            key_prefix,
            HELPLINE_RATE_LIMIT="1000",
            HELPLINE_NLU_TIMEOUT=str(HUNG_TIMEOUT),
        )
        bot = processes.start(tmp_path, "bot", env)
        stack.callback(processes.stop, bot)
        await processes.ready(bot, "/readyz")
        async with aiohttp.ClientSession() as session:
            assert await _ready(session, bot.url) == (200, {"redis": True, "nlu": True})
            workers = [await _conversation(session, bot.url) for _ in range(WORKERS)]
            start = time.monotonic() + 0.5
            burst = asyncio.gather(
                *(_worker(session, bot.url, h, i, start) for i, (_, h) in enumerate(workers))
            )
            await asyncio.sleep(start + KILL_AFTER - time.monotonic())
            first.kill(how)
            killed = time.monotonic()
            answers = [a for worker in await burst for a in worker]
            one_down = await _ready(session, bot.url)

            # The survivor is killed too: the crisis lexicon reads alone.
            second.kill(how)
            all_killed = time.monotonic()
            conversation, headers = workers[0]
            status, replies = await _post(session, bot.url, headers, {"text": EMERGENCY})
            emergency = (status, _text(replies), time.monotonic() - all_killed)
            lexicon_only = [
                await _post(session, bot.url, h, {"text": QUESTIONS[0][0]}) for _, h in workers[1:]
            ]
            none_up = await _ready(session, bot.url)

        redis = connect_redis(redis_url)
        try:
            sealer, keys = Sealer(tuple(parse_keys(env["HELPLINE_DATA_KEY"]))), Keys(key_prefix)
            cases = await CaseStore(redis, keys, sealer).of_sender(f"webchat:{conversation}")
            waiting = await RedisEscalationQueue(redis, keys, sealer).waiting()
        finally:
            await redis.aclose()

    after_kill = [a for a in answers if a.answered > killed]
    in_flight = [a.answered - killed for a in answers if a.sent < killed < a.answered]
    next_answer = min(a.answered for a in after_kill) - killed
    by_model = sum(a.expected in a.text for a in after_kill)
    slowest = max(in_flight, default=0.0)
    name = "rasa stopped" if hung else "rasa kill -9"
    print(f"\n{name} (1 of 2): next answer {next_answer:.2f}s after the kill "
          f"({len(in_flight)} in flight, slowest {slowest:.2f}s), {len(after_kill)} answers "
          f"during the outage, {by_model} of them by the model")  # fmt: skip
    print(f"{name} (2 of 2): emergency answered {emergency[2]:.2f}s after the kill and "
          f"on the operator queue, {len(lexicon_only) + 1} answers during the outage (the "
          f"emergency, {len(lexicon_only)} lexicon fallbacks), readiness {none_up[0]} "
          f"{none_up[1]}")  # fmt: skip

    # One server down: every question answered by the model (the survivor), promptly.
    assert after_kill and in_flight, "the kill came after the burst, or between messages"
    assert all(a.status == 200 for a in answers), sorted({a.status for a in answers})
    wrong = [(a.expected, a.text[:120]) for a in answers if a.expected not in a.text]
    assert not wrong, wrong
    assert slowest <= recovery, in_flight
    assert one_down == (200, {"redis": True, "nlu": True}), one_down

    # Both down: the emergency reached the queue and the worker; questions answered honestly.
    assert emergency[0] == 200 and "999" in emergency[1], emergency
    # Hung: the one server not resting is asked first, then the resting one.
    assert emergency[2] <= recovery + (HUNG_TIMEOUT if hung else 0.0), emergency
    assert len(cases) == 1, cases
    case = cases[0]
    assert (case.category, case.priority) == ("emergency", Priority.CRITICAL.value), case
    assert [e.escalation.kind for e in waiting if e.escalation.case_id == case.id] == ["emergency"]
    for status, replies in lexicon_only:
        assert status == 200 and NOT_READ in _text(replies), (status, _text(replies))
    assert none_up == (200, {"redis": True, "nlu": False}), none_up
