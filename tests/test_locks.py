"""The conversation lock (bot/store/locks.py) under a turn whose length is a multiple of
the lock's renewal interval, against the whole bot, the real Redis and NLU servers that
take requests and never answer (two frozen Rasa servers).

Regression: each turn took 3.0 s (two NLU timeouts of 1.5 s), exactly four renewals; a
turn that ended while a renewal was under way cancelled it mid-call, and the lock's exit
waited on it for good - the reply was never sent (the web chat POST gave up after 15 s
with nothing) and the conversation stalled. About 1 message in 4 hit it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from bot.store.locks import RENEW_SECONDS
from tests.chat import Chat
from tests.conftest import make_settings
from tests.frozen import frozen_servers

TIMEOUT = 2 * RENEW_SECONDS  # two servers: a turn of 4 x RENEW_SECONDS
MESSAGES = 8


@pytest.fixture
async def frozen_nlu() -> AsyncIterator[str]:
    """Two NLU URLs where connections are taken and never answered."""
    async with frozen_servers(2) as urls:
        yield ",".join(urls)


async def test_every_turn_as_long_as_four_renewals_is_answered(
    redis_url: str, key_prefix: str, frozen_nlu: str
) -> None:
    settings = make_settings(redis_url, frozen_nlu, key_prefix, nlu_timeout_seconds=TIMEOUT)
    async with Chat.serve(settings) as chat:
        slow = []
        for _ in range(MESSAGES):
            worker = await chat.new_worker()
            started = time.monotonic()
            replies = await worker.say("how many rest days do I get")
            took = time.monotonic() - started
            if not replies or took > 2 * 2 * TIMEOUT + 2:
                slow.append((round(took, 2), len(replies)))
        assert not slow, f"turns that stalled (seconds, replies): {slow}"
