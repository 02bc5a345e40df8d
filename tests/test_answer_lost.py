"""Redis accepted a web chat message, and its answer never came back (issue 20).

Regression: the connection to Redis dropped after Redis ran the accept and before its
answer arrived (Redis restarting, a network blip). redis-py sends the accept again on a
new connection (or the page sends the message again after a 503), which now finds the
message already accepted: the POST said "duplicate" with no replies, and the worker's
message was missing from the transcript - it was added in a second step, after the accept,
that never ran. The message itself was answered (it was in the inbox), so the worker saw
replies to something they had apparently not said.

Now the accept shows the message in the transcript in the same step, and a message sent
again gets the first one's replies. Against the real Redis, through a pass-through that
drops every connection right after the accept reached Redis.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from tests.chat import Chat
from tests.conftest import make_settings
from tests.switch import Switch, switch_to

pytestmark = pytest.mark.rasa


@pytest.fixture
async def through(redis_url: str) -> AsyncIterator[tuple[Switch, str]]:
    """A pass-through to the test Redis, and the URL that goes through it."""
    async with switch_to(redis_url) as switch:
        port = urlsplit(switch.url).port
        parts = urlsplit(redis_url)
        secret = parts.netloc.rpartition("@")[0]  # the password, if the URL has one
        netloc = f"{secret}@127.0.0.1:{port}" if secret else f"127.0.0.1:{port}"
        yield switch, parts._replace(netloc=netloc).geturl()


async def test_a_message_whose_accept_was_not_heard_is_shown_and_answered(
    through: tuple[Switch, str], rasa_url: str, key_prefix: str
) -> None:
    switch, url = through
    settings = make_settings(url, rasa_url, key_prefix)
    async with Chat.serve(settings) as chat:
        worker = await chat.new_worker()
        await worker.send({"payload": "lang:en", "text": "English"})
        switch.cut_after(f"{key_prefix}:seen:webchat".encode())
        body = {"text": "what is the minimum wage in hong kong", "client_message_id": "lost-1"}
        started = time.monotonic()
        async with await worker.post(body) as response:
            assert response.status in (200, 503), await response.text()
            first = await response.json()
        if response.status == 503:  # the page sends it again, as it does after a 503
            async with await worker.post(body) as response:
                assert response.status == 200
                first = await response.json()
        took = time.monotonic() - started
        print(f"\nanswered {took:.2f} s after it was sent")
        assert first["replies"], first
        assert first["pending"] is False
        # The read that took it lost its reply too: it is found within seconds, not after
        # the 60 s backstop.
        assert took < 5, took
        transcript = await chat.services.outbox.read(worker.sender, count=100)
        said = [m["text"] for _, m in transcript if m.get("from") == "worker"]
        assert said.count(body["text"]) == 1, said
        # The message before the replies to it, as the worker sees it.
        texts = [m["text"] for _, m in transcript]
        assert texts.index(body["text"]) < texts.index(first["replies"][0]["text"]), texts
