"""Liveness and readiness while Redis is frozen (issue 20, defect 4).

Regression: /healthz said 200 eight seconds after Redis was stopped (the Redis client
retried for that long before the check gave up). Now /healthz is liveness (the process
answers, asking nothing of Redis) and /readyz is readiness (Redis within 1 s).
Against a real redis-server, frozen with SIGSTOP and thawed with SIGCONT.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from bot.redis_server import PID_FILE, private_redis
from tests.chat import Chat
from tests.conftest import make_settings
from tests.eventually import eventually


async def _get(chat: Chat, path: str) -> tuple[int, float]:
    started = time.monotonic()
    async with chat.session.get(f"{chat.base}{path}") as response:
        await response.read()
        return response.status, time.monotonic() - started


@pytest.mark.timeout(120)
async def test_readiness_follows_redis_and_liveness_does_not(tmp_path: Path) -> None:
    data = tmp_path / "redis"
    with private_redis(data) as url:
        settings = make_settings(url, "http://127.0.0.1:9", "health")
        async with Chat.serve(settings) as chat:
            assert (await _get(chat, "/readyz"))[0] == 200
            pid = int((data / PID_FILE).read_text())
            os.kill(pid, signal.SIGSTOP)
            try:
                status, took = await _get(chat, "/readyz")
                assert status == 503 and took < 1.5, (status, took)
                status, took = await _get(chat, "/healthz")
                assert status == 200 and took < 0.5, (status, took)
            finally:
                os.kill(pid, signal.SIGCONT)
            await eventually(lambda: _get(chat, "/readyz"), lambda r: r[0] == 200, seconds=15,
                             what="ready again once Redis answers")  # fmt: skip
