"""Open event streams cannot take the helpline down (issue 18, critical finding).

Replays the attack against the real stack: one client opening stream after stream of
`GET /api/chat/events` used to hold one pooled Redis connection each, until a new
emergency got 503. Also: limits answer 429, a bad Last-Event-ID is a 400, a stream whose
client left ends within seconds, new conversations per address are limited, and the
console's live queue is for case roles only and ends with the session.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import aiohttp
import pytest

from bot.channels.webchat import WebChat
from bot.store.users import Role, User
from tests.chat import Chat, Worker, channel_of
from tests.conftest import make_settings
from tests.console import Operator
from tests.eventually import eventually

pytestmark = pytest.mark.rasa


@pytest.fixture
async def tight(redis_url: str, rasa_url: str, key_prefix: str) -> AsyncIterator[Chat]:
    settings = make_settings(
        redis_url,
        rasa_url,
        key_prefix,
        streams_per_conversation=3,
        streams_per_address=200,
        streams_total=400,
        conversations_per_address_hour=100,
    )
    async with Chat.serve(settings) as chat:
        yield chat


async def _open(
    stack: AsyncExitStack, session: aiohttp.ClientSession, worker: Worker, **headers: str
) -> aiohttp.ClientResponse:
    url = await worker.events_url()
    response = await stack.enter_async_context(session.get(url, headers=headers))
    if response.status == 200:
        await response.content.readline()  # the stream is open: "retry: 2000"
    return response


def _session() -> aiohttp.ClientSession:
    """An attacker's client: no limit on its own connections."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))


async def _redis_clients(chat: Chat) -> int:
    return len(await chat.redis.client_list())


async def test_many_streams_from_one_client_cannot_stop_the_intake(tight: Chat) -> None:
    chat = tight
    before = await _redis_clients(chat)
    workers = [await chat.new_worker() for _ in range(40)]
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(_session())
        opened = [await _open(stack, session, w) for w in workers for _ in range(3)]
        assert [r.status for r in opened] == [200] * 120
        # The fourth stream of one conversation is refused, with the reason.
        refused = await _open(stack, session, workers[0])
        assert refused.status == 429 and "conversation" in (await refused.json())["error"]
        # 120 open streams hold no Redis connection each.
        assert await _redis_clients(chat) - before < 40
        # The intake still takes an emergency, and the console still sees it.
        operator = await Operator.signed_in(chat, "ida")
        try:
            async with operator.watching() as live:
                worker = await chat.new_worker()
                await worker.say("tolong majikan sy mukul sy td malam")
                case = await chat.services.cases.open_case_of(worker.sender)
                assert case is not None
                await live.wait_for(lambda e: e.get("case_id") == case.id)
        finally:
            await operator.close()
        # Every open stream still gets its own conversation's messages.
        await workers[5].say("halo")
        line = b""
        while b"data:" not in line:
            line = await asyncio.wait_for(opened[15].content.readline(), 10)


async def test_streams_from_one_address_and_in_all_are_limited(
    redis_url: str, rasa_url: str, key_prefix: str
) -> None:
    settings = make_settings(
        redis_url, rasa_url, key_prefix, streams_per_address=5, streams_total=8
    )
    async with Chat.serve(settings) as chat, AsyncExitStack() as stack:
        session = await stack.enter_async_context(_session())
        workers = [await chat.new_worker() for _ in range(6)]
        statuses = [(await _open(stack, session, w)).status for w in workers]
        assert statuses == [200] * 5 + [429]
        webchat = channel_of(chat, WebChat)
        webchat._limits.per_address = 100
        more = [await chat.new_worker() for _ in range(4)]
        statuses = [(await _open(stack, session, w)).status for w in more]
        assert statuses == [200, 200, 200, 429]  # 8 open in all


async def test_a_bad_last_event_id_is_refused(tight: Chat) -> None:
    worker = await tight.new_worker()
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(_session())
        for bad in ("garbage", "1-2-3", "9" * 25 + "-0", "-1"):
            response = await _open(stack, session, worker, **{"Last-Event-ID": bad})
            assert response.status == 400, bad
        good = await _open(stack, session, worker, **{"Last-Event-ID": "0-0"})
        assert good.status == 200


async def test_a_stream_whose_client_left_ends_within_seconds(tight: Chat) -> None:
    webchat = channel_of(tight, WebChat)
    worker = await tight.new_worker()
    session = aiohttp.ClientSession()
    response = await session.get(await worker.events_url())
    await response.content.readline()
    assert webchat._limits.open == 1
    left = time.monotonic()
    response.close()
    await session.close()
    await eventually(
        lambda: webchat._limits.open, lambda n: n == 0, what="the stream ended", seconds=8
    )
    assert time.monotonic() - left < 8


async def test_new_conversations_per_address_are_limited(
    redis_url: str, rasa_url: str, key_prefix: str
) -> None:
    settings = make_settings(redis_url, rasa_url, key_prefix, conversations_per_address_hour=5)
    async with Chat.serve(settings) as chat:
        for _ in range(5):
            await chat.new_worker()
        async with chat.session.post(f"{chat.base}/api/chat/conversations") as response:
            assert response.status == 429
            assert "Retry-After" in response.headers


async def test_the_live_queue_is_for_case_roles_and_ends_with_the_session(tight: Chat) -> None:
    editor = await Operator.signed_in(tight, "edi", Role.EDITOR)
    try:
        status, _ = await editor.get("/console/events")
        assert status == 403
    finally:
        await editor.close()
    operator = await Operator.signed_in(tight, "ana")
    try:
        async with operator.watching() as live:
            worker = await tight.new_worker()
            await worker.say("tolong majikan sy mukul sy td malam")
            event = await live.wait_for(lambda e: e.get("type") == "escalation")
            assert "sender" not in event and worker.conversation_id not in str(live.seen)
            # A changed role (or a disabled user, or a logout) ends the stream.
            user = await tight.console.users.get("ana")
            assert user is not None
            await tight.console.users.save(dataclasses.replace(user, role=Role.EDITOR.value))
            await eventually(
                lambda: tight.console.stream_limits.open,
                lambda n: n == 0,
                what="the stream ended",
                seconds=6,
            )
    finally:
        await operator.close()


async def test_the_rate_limit_never_drops_testimony_to_an_operator(
    redis_url: str, rasa_url: str, key_prefix: str
) -> None:
    """Regression: past the per-minute limit, messages were dropped - also in a
    conversation an operator owns, where they are testimony for the case."""
    settings = make_settings(redis_url, rasa_url, key_prefix, rate_limit_per_minute=5)
    async with Chat.serve(settings) as chat:
        worker = await chat.new_worker()
        await worker.say("sy mau bicara dengan petugas")
        case = await chat.services.cases.open_case_of(worker.sender)
        assert case is not None
        await chat.casework.claim(case.id, User("ana", "operator", "Ana", "x"))
        words = [f"dia pukul sy lagi, pesan ke-{n}" for n in range(12)]
        for text in words:
            await worker.say(text)
        timeline = await chat.services.cases.timeline(case.id)
        told = [e.get("text") for e in timeline if e["kind"] == "worker_message"]
        assert all(text in told for text in words)
