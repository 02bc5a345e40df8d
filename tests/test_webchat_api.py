"""The web chat API under bad input and outages: clear errors, nothing accepted lost."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.messages import Inbound
from bot.net import free_port
from bot.redis_server import private_redis
from bot.runner import InboxRunner
from bot.store.inbox import Inbox
from bot.store.keys import Keys
from bot.store.users import User
from tests.chat import Chat
from tests.conftest import make_settings
from tests.eventually import eventually

pytestmark = pytest.mark.rasa


async def test_malformed_requests_get_clear_4xx(chat: Chat) -> None:
    worker = await chat.new_worker()
    url = f"{chat.base}/api/chat/messages"
    auth = {"Authorization": f"Bearer {worker.token}"}
    cases = [
        ({}, b'{"text": "hi"}', 401),
        ({"Authorization": "Bearer forged"}, b'{"text": "hi"}', 401),
        (auth, b"{not json", 400),
        (auth, b'["a list"]', 400),
        (auth, b'{"text": "   "}', 400),
        (auth, b'{"text": 42}', 400),
        (auth, b'{"text": "' + b"x" * 5000 + b'"}', 400),
        (auth, b'{"text": "' + b"x" * 70_000 + b'"}', 413),
    ]
    for headers, body, status in cases:
        async with chat.session.post(url, data=body, headers=headers) as response:
            assert response.status == status, body[:40]
            assert "error" in await response.json()


async def test_duplicate_delivery_is_dropped(chat: Chat) -> None:
    worker = await chat.new_worker()
    first = await worker.send({"text": "halo", "client_message_id": "m-1"})
    assert first
    async with await worker.post({"text": "halo", "client_message_id": "m-1"}) as response:
        answer = await response.json()
    # Not handled again; the page that sent it again (it never heard "accepted") gets the
    # first one's replies.
    assert answer["duplicate"] is True and answer["pending"] is False, answer
    assert [r["text"] for r in answer["replies"]] == [r["text"] for r in first]
    echoes = [m for m in await worker.events(len(first) + 1) if m["from"] == "worker"]
    assert len(echoes) == 1


async def test_event_stream_carries_the_conversation_and_resumes(chat: Chat) -> None:
    worker = await chat.new_worker()
    replies = await worker.say("hello")
    events = await worker.events(1 + len(replies))
    assert events[0]["from"] == "worker" and events[0]["text"] == "hello"
    assert [e["text"] for e in events[1:]] == [r["text"] for r in replies]
    last = events[-1]["id"]
    await worker.press("country:hong_kong")
    url = await worker.events_url()
    timeout = aiohttp.ClientTimeout(total=10)
    async with chat.session.get(url, headers={"Last-Event-ID": last}, timeout=timeout) as resp:
        async for raw in resp.content:
            line = raw.decode()
            if line.startswith("data: "):
                resumed = json.loads(line[6:])
                break
    # Resuming starts right after the last event seen: the echo of the pressed button.
    assert resumed["from"] == "worker" and resumed["text"] == "Hong Kong"

    def order(entry_id: str) -> tuple[int, ...]:
        return tuple(int(part) for part in entry_id.split("-"))

    assert order(resumed["id"]) > order(last)


async def test_the_stream_opens_with_a_single_use_ticket_never_the_token(chat: Chat) -> None:
    """The token stays out of URLs (and so out of access logs)."""
    worker = await chat.new_worker()
    token_url = f"{chat.base}/api/chat/events?token={worker.token}"
    async with chat.session.get(token_url) as response:
        assert response.status == 401
    url = await worker.events_url()
    async with chat.session.get(url) as response:
        assert response.status == 200
    async with chat.session.get(url) as response:
        assert response.status == 401  # used


async def test_two_messages_at_the_same_moment_are_both_handled(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("hello")
    await worker.press("country:hong_kong")
    results = await asyncio.gather(
        worker.send({"text": "how many rest days do I get"}),
        worker.send({"text": "what is the minimum wage"}),
    )
    assert all(results)
    texts = " ".join(r["text"] for batch in results for r in batch)
    assert texts.count("Source") == 2


async def test_expired_session_starts_afresh(
    redis_url: str, rasa_url: str, key_prefix: str
) -> None:
    settings = make_settings(redis_url, rasa_url, key_prefix, session_ttl_seconds=1)
    async with Chat.serve(settings) as chat:
        worker = await chat.new_worker()
        await worker.say("hello")
        await worker.press("country:taiwan")
        await worker.press("menu:complaint")
        await eventually(
            lambda: chat.services.sessions.load(worker.sender),
            lambda session: session.data.get("expired"),
            what="the flow past its one-second lifetime",
        )
        await worker.send({"payload": "complaint:against:employer", "text": "My employer"})
        assert "no longer valid" in worker.texts()
        session = await chat.services.sessions.load(worker.sender)
        assert session.country == "taiwan" and session.flow is None


async def test_a_flood_is_slowed_but_a_crisis_still_gets_through(
    redis_url: str, rasa_url: str, key_prefix: str
) -> None:
    settings = make_settings(redis_url, rasa_url, key_prefix, rate_limit_per_minute=3)
    async with Chat.serve(settings) as chat:
        worker = await chat.new_worker()
        for text in ("hello", "hi", "halo"):
            assert await worker.say(text)
        assert "very fast" in (await worker.say("p"))[0]["text"]
        assert await worker.say("p lagi") == []
        await worker.say("tolong sy dipukul majikan")
        assert "PMI-" in worker.texts()


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def _dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


async def test_emergency_while_rasa_is_down_still_opens_a_critical_case(
    redis_url: str, key_prefix: str
) -> None:
    async with Chat.serve(make_settings(redis_url, _dead_url(), key_prefix)) as chat:
        worker = await chat.new_worker()
        await worker.say("tolong sy dikurung majikan, hp diambil")
        assert "PMI-" in worker.texts()
        case = (await chat.services.cases.of_sender(worker.sender))[0]
        assert (case.priority, case.category) == ("critical", "emergency")
        assert [e.escalation.case_id for e in await chat.queue.waiting()] == [case.id]
        # While they wait for a person they are told so, never the menu.
        await worker.say("halo kak?? ada org ga")
        assert "PMI-" in worker.texts() and "menu:rights" not in worker.payloads()
        # Someone else, with nothing open, is offered a person while the NLU is down.
        other = await chat.new_worker()
        await other.press("country:malaysia")
        await other.say("mau tanya soal gaji")
        assert "human" in other.payloads()


async def test_redis_outage_of_a_few_seconds(tmp_path: Path, rasa_url: str) -> None:
    """Redis stops and comes back: the worker is told, and nothing accepted is lost."""
    port = free_port()
    data = tmp_path / "redis"
    with private_redis(data, port) as url:
        settings = make_settings(url, rasa_url, "outage")
        password = urlsplit(url).password or ""
        async with Chat.serve(settings) as chat:
            worker = await chat.new_worker()
            await worker.say("I want to talk to a person")
            case_id = (await chat.services.cases.of_sender(worker.sender))[0].id
            outage = private_redis(data, port)  # the same data folder: the same password
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(f"AUTH {password}\r\nSHUTDOWN NOSAVE\r\n".encode())
            await eventually(lambda: _refused(port), what="Redis stopped")
            body = {"text": "hello?", "client_message_id": "during"}
            async with await worker.post(body, language="en") as r:
                assert r.status == 503
                assert "try again" in (await r.json())["error"]
            with outage:
                await worker.send({"text": "hello?", "client_message_id": "during"})
                assert worker.last  # the retry was accepted and answered
                assert (await chat.services.cases.get(case_id)) is not None


async def test_a_message_left_by_a_dead_worker_is_handled(chat: Chat, key_prefix: str) -> None:
    """A message taken by a worker that died before acknowledging it is handled later."""
    dispatcher = chat.helpline.runner.dispatcher
    inbox = Inbox(chat.redis, Keys(f"{key_prefix}-orphans"))
    await inbox.ensure_group()
    inbound = Inbound(channel="webchat", user_id="orphan", message_id="x-1", text="hello")
    entry = await inbox.accept(inbound)
    taken = await inbox.read("dead-consumer", count=1, block_ms=100)
    assert [e for e, _ in taken] == [entry]  # taken, never acknowledged
    rescuer = InboxRunner(
        inbox,
        dispatcher,
        chat.helpline.runner.liveness,
        chat.helpline.replies,
        workers=1,
        reclaim_idle_ms=200,
    )
    await rescuer.start()
    try:
        replies = await eventually(
            lambda: chat.services.outbox.read("webchat:orphan"),
            bool,
            what="the orphaned message is handled",
            seconds=20,
        )
    finally:
        await rescuer.stop()
    assert replies


async def test_one_senders_messages_are_handled_in_the_order_accepted(chat: Chat) -> None:
    """Regression: with several dispatch workers, a Telegram country button pressed just
    before a question was sometimes applied after it."""
    worker = await chat.new_worker()
    await worker.say("I want to talk to a person")
    case = await chat.services.cases.open_case_of(worker.sender)
    assert case is not None
    operator = User("ana", "operator", "Ana", "x")
    await chat.casework.claim(case.id, operator)
    # Accepted back to back, as a channel does; handled by the runner's workers.
    runner = chat.helpline.runner
    for number in range(12):
        await runner.submit(Inbound("webchat", worker.conversation_id, f"m{number}", str(number)))
    timeline = await eventually(
        lambda: chat.services.cases.timeline(case.id),
        lambda timeline: any(e.get("text") == "11" for e in timeline),
        what="all twelve messages reach the case",
    )
    said = [e.get("text") for e in timeline]
    numbers = [t for t in said if t and t.isdigit()]
    assert numbers == [str(n) for n in range(12)]


async def test_another_conversation_reusing_a_message_id_is_not_dropped(chat: Chat) -> None:
    """Regression: duplicates were detected per channel, so one web chat conversation
    could make another's messages vanish by sending their ids first."""
    first, second = await chat.new_worker(), await chat.new_worker()
    await first.send({"text": "halo", "client_message_id": "shared-id-1"})
    replies = await second.send({"text": "halo", "client_message_id": "shared-id-1"})
    assert replies, "the second conversation's message was dropped as a duplicate"
    async with await first.post({"text": "halo", "client_message_id": "shared-id-1"}) as again:
        assert (await again.json())["duplicate"] is True  # within one conversation it is
