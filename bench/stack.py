"""The whole helpline for a benchmark: a private Redis, the Rasa server with the trained
model, and the bot as its own process (`helpline run`), as in production."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.net import free_port
from bot.nlu_model.rasa_env import RasaProject, rasa_server, stop_process
from bot.redis_server import private_redis

KEY_PREFIX = "bench"


@dataclass(frozen=True)
class Stack:
    base: str
    redis_url: str
    bot: subprocess.Popen[bytes]
    env: dict[str, str]

    def memory_kb(self) -> tuple[int, int]:
        """The bot process's resident memory now and at its peak."""
        lines = Path(f"/proc/{self.bot.pid}/status").read_text().splitlines()
        fields = dict(line.split(":", 1) for line in lines if ":" in line)
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def _wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {seconds} s")


@contextmanager
def helpline_stack(**extra_env: str) -> Iterator[Stack]:
    """A private Redis, the Rasa server with the trained model, and the bot."""
    project = RasaProject.default()
    model, _ = project.train()
    with (
        tempfile.TemporaryDirectory() as tmp,
        private_redis(Path(tmp) / "redis") as redis_url,
        rasa_server(project, free_port(), model=model) as nlu_url,
        bot_process(redis_url, nlu_url, tmp, **extra_env) as stack,
    ):
        yield stack


@contextmanager
def bot_process(redis_url: str, nlu_url: str, tmp: str, **extra_env: str) -> Iterator[Stack]:
    """`helpline run` as its own process on the given Redis and Rasa (data folder
    ``tmp``), until it has answered /healthz."""
    port = free_port()
    env = dict(
        os.environ,
        HELPLINE_REDIS_URL=redis_url,
        HELPLINE_NLU_URL=nlu_url,
        HELPLINE_PORT=str(port),
        HELPLINE_RATE_LIMIT="1000",
        HELPLINE_KEY_PREFIX=KEY_PREFIX,
        HELPLINE_DATA_DIR=tmp,
        **extra_env,
    )
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{base}/healthz", 60)
        yield Stack(base, redis_url, bot, env)
    finally:
        stop_process(bot)
