"""Real `helpline run` processes side by side on one Redis and one Rasa server, for the
tests that kill, stop and restart them (tests/test_two_processes.py, tests/faults/)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.net import free_port
from bot.store.sealing import new_key
from tests.eventually import eventually


def environment(redis_url: str, rasa_url: str, key_prefix: str, **extra: str) -> dict[str, str]:
    """What every process of one helpline shares: Redis, Rasa, the key prefix and the
    data key (each process has a data folder of its own)."""
    return {
        "HELPLINE_REDIS_URL": redis_url,
        "HELPLINE_NLU_URL": rasa_url,
        "HELPLINE_KEY_PREFIX": key_prefix,
        "HELPLINE_DATA_KEY": new_key(),
        "HELPLINE_STAFFED_HOURS": "always",
        "HELPLINE_OPERATORS_LOCALE": "en",
        **extra,
    }


@dataclass
class Bot:
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def start(tmp: Path, name: str, env: dict[str, str], port: int | None = None) -> Bot:
    data = tmp / name
    data.mkdir(exist_ok=True)
    port = port or free_port()
    log = tmp / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            env=dict(os.environ, HELPLINE_DATA_DIR=str(data), HELPLINE_PORT=str(port), **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Bot(port, process, log, env)


async def ready(bot: Bot, path: str = "/healthz") -> None:
    async def up() -> bool:
        assert bot.process.poll() is None, f"helpline run exited; see {bot.log}"
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{bot.url}{path}") as response,
            ):
                return response.status == 200
        except aiohttp.ClientError:
            return False

    await eventually(up, what=f"the helpline on port {bot.port} answers", seconds=120, every=0.3)


def stop(bot: Bot, seconds: float = 30) -> None:
    if bot.process.poll() is None:
        bot.process.terminate()
    try:
        bot.process.wait(seconds)
    except subprocess.TimeoutExpired:
        bot.process.kill()
        bot.process.wait()


@asynccontextmanager
async def bots(tmp: Path, env: dict[str, str], count: int = 2) -> AsyncIterator[list[Bot]]:
    """``count`` helplines on the same Redis and Rasa, each answering its health check."""
    started = [start(tmp, f"bot{i}", env) for i in range(count)]
    try:
        for bot in started:
            await ready(bot)
        yield started
    finally:
        for bot in started:
            stop(bot)
