"""The operator queue against a real Redis: ordering, atomic claims, vanished claimers,
re-announcement timing. The NLU is not needed here (its URL points nowhere)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Sequence

import pytest

from bot.net import free_port
from bot.queue_watch import QueueWatch, WaitingLimits
from bot.staffing import StaffedHours
from bot.store.cases import Case, Priority
from bot.store.escalations import AlreadyClaimed, Escalation, NotQueued, QueueEntry
from bot.store.events import next_event
from bot.store.sessions import BOT
from bot.store.users import Role, User
from tests.chat import Chat
from tests.conftest import make_settings


@pytest.fixture
async def helpline(redis_url: str, key_prefix: str) -> AsyncIterator[Chat]:
    settings = make_settings(
        redis_url,
        f"http://127.0.0.1:{free_port()}",
        key_prefix,
        reannounce_seconds=0.4,
        supervisor_after_minutes=1.5 / 60,
        queue_watch_seconds=0.05,
    )
    async with Chat.serve(settings) as started:
        yield started


async def _case(chat: Chat, priority: Priority, kind: str = "human", sender: str = "") -> Case:
    sender = sender or f"webchat:{time.monotonic_ns()}"
    case = await chat.services.cases.open(
        sender=sender,
        category="emergency" if priority == Priority.CRITICAL else "other",
        intent="request_human",
        priority=priority,
        country="hong_kong",
        locale="en",
        summary=f"{kind} {priority.value}",
    )
    await chat.queue.put(Escalation(case.id, case.priority, kind, sender, case.summary))
    return case


def _ids(entries: Sequence[QueueEntry]) -> list[str]:
    return [e.escalation.case_id for e in entries]


async def test_emergencies_first_then_oldest_first_within_a_priority(helpline: Chat) -> None:
    a = await _case(helpline, Priority.NORMAL)
    b = await _case(helpline, Priority.CRITICAL, "emergency")
    c = await _case(helpline, Priority.NORMAL, "complaint")
    d = await _case(helpline, Priority.CRITICAL, "emergency")
    assert _ids(await helpline.queue.waiting()) == [b.id, d.id, a.id, c.id]
    assert await helpline.queue.position(c.id) == 4
    # A waiting "talk to a person" that turns into an emergency moves up, not twice.
    assert await helpline.queue.put(Escalation(c.id, "critical", "emergency", "x")) == "raised"
    assert _ids(await helpline.queue.waiting()) == [b.id, d.id, c.id, a.id]
    assert await helpline.queue.put(Escalation(c.id, "normal", "human", "x")) == "kept"
    assert len(await helpline.queue.waiting()) == 4


async def test_two_operators_can_never_claim_the_same_escalation(helpline: Chat) -> None:
    case = await _case(helpline, Priority.CRITICAL, "emergency")
    operators = [f"op{i}" for i in range(20)]
    results = await asyncio.gather(
        *(helpline.queue.claim(case.id, name) for name in operators), return_exceptions=True
    )
    winners = [name for name, result in zip(operators, results, strict=True) if result is None]
    assert len(winners) == 1
    losers = [r for r in results if r is not None]
    assert all(isinstance(r, AlreadyClaimed) and r.holder == winners[0] for r in losers)
    assert await helpline.queue.holder(case.id) == winners[0]


async def test_take_the_next_hands_each_escalation_to_exactly_one_operator(
    helpline: Chat,
) -> None:
    cases = [await _case(helpline, Priority.NORMAL) for _ in range(5)]
    urgent = await _case(helpline, Priority.CRITICAL, "emergency")
    got = await asyncio.gather(*(helpline.queue.claim_next(f"op{i}") for i in range(9)))
    taken = [g for g in got if g is not None]
    assert sorted(taken) == sorted([c.id for c in cases] + [urgent.id])
    assert got.count(None) == 3


async def test_take_the_next_gives_the_emergency_first_then_the_oldest(helpline: Chat) -> None:
    # Asked one after the other: concurrent requests reach Redis over different
    # connections, in no order the test can rely on.
    first = await _case(helpline, Priority.NORMAL)
    second = await _case(helpline, Priority.NORMAL)
    urgent = await _case(helpline, Priority.CRITICAL, "emergency")
    taken = [await helpline.queue.claim_next(f"op{i}") for i in range(4)]
    assert taken == [urgent.id, first.id, second.id, None]


async def test_release_puts_it_back_at_its_old_place_and_transfer_checks_the_holder(
    helpline: Chat,
) -> None:
    first = await _case(helpline, Priority.NORMAL)
    second = await _case(helpline, Priority.NORMAL)
    await helpline.queue.claim(first.id, "ana")
    assert _ids(await helpline.queue.waiting()) == [second.id]
    with pytest.raises(AlreadyClaimed):
        await helpline.queue.release(first.id, "budi")
    with pytest.raises(AlreadyClaimed):
        await helpline.queue.transfer(first.id, "citra", operator="budi")
    await helpline.queue.transfer(first.id, "citra", operator="ana")
    assert await helpline.queue.holder(first.id) == "citra"
    await helpline.queue.release(first.id, "citra")
    assert _ids(await helpline.queue.waiting()) == [first.id, second.id]
    assert await helpline.queue.done(first.id) is True
    with pytest.raises(NotQueued):
        await helpline.queue.claim(first.id, "ana")


async def test_a_claim_by_someone_who_disappeared_is_redelivered(helpline: Chat) -> None:
    worker = f"webchat:{time.monotonic_ns()}"
    case = await _case(helpline, Priority.CRITICAL, "emergency", sender=worker)
    ghost = User("ghost", Role.OPERATOR.value, "Ghost", "x")
    present = User("present", Role.OPERATOR.value, "Present", "x")
    other = await _case(helpline, Priority.CRITICAL, "emergency")
    await helpline.casework.claim(case.id, ghost)
    await helpline.casework.claim(other.id, present)
    session = await helpline.services.sessions.load(worker)
    assert session.owner == "operator:ghost"
    watch = QueueWatch(
        helpline.redis,
        helpline.console.keys,
        helpline.queue,
        helpline.casework,
        limits=WaitingLimits(reannounce_seconds=60, supervisor_after_seconds=600),
        hours=StaffedHours.parse("always", "Asia/Jakarta"),
        presence_seconds=0.3,
    )
    await asyncio.sleep(0.4)
    await helpline.console.presence.seen("present")
    await watch.tick()
    # The ghost's claim went back to waiting; the present operator keeps theirs.
    assert _ids(await helpline.queue.waiting()) == [case.id]
    assert await helpline.queue.holder(other.id) == "present"
    reloaded = await helpline.services.cases.get(case.id)
    assert reloaded is not None and reloaded.assignee is None and reloaded.status == "new"
    session = await helpline.services.sessions.load(worker)
    assert session.owner == BOT and session.case_id == case.id
    told = [m["text"] for _, m in await helpline.services.outbox.read(worker)]
    assert any("back in our queue" in text for text in told)


async def test_an_unclaimed_emergency_is_announced_again_then_raised_to_a_supervisor(
    helpline: Chat,
) -> None:
    announcements: list[tuple[float, dict[str, object]]] = []
    async with helpline.console.events.subscribe() as pubsub:
        start = time.monotonic()
        case = await _case(helpline, Priority.CRITICAL, "emergency")
        while time.monotonic() - start < 2.2:
            event = await next_event(pubsub, 0.1)
            if event and event.get("case_id") == case.id and event["type"] != "case":
                announcements.append((time.monotonic() - start, event))
    kinds = [(e["type"], e.get("announcement")) for _, e in announcements]
    assert kinds[0] == ("escalation", 0)
    again = [t for t, e in announcements if e.get("outcome") == "announced"]
    # Every 0.4 s: about five times in 2.2 s, each once, none early.
    assert 4 <= len(again) <= 5, kinds
    assert again[0] >= 0.4
    gaps = [b - a for a, b in itertools.pairwise(again)]
    assert all(0.25 <= gap <= 0.6 for gap in gaps), gaps
    supervisor = [t for t, e in announcements if e["type"] == "supervisor"]
    assert len(supervisor) == 1 and 1.5 <= supervisor[0] <= 1.8
    timeline = [e["kind"] for e in await helpline.services.cases.timeline(case.id)]
    assert "raised_to_supervisor" in timeline


async def test_a_claimed_emergency_is_not_announced_again(helpline: Chat) -> None:
    async with helpline.console.events.subscribe() as pubsub:
        case = await _case(helpline, Priority.CRITICAL, "emergency")
        await helpline.queue.claim(case.id, "ana")
        await helpline.console.presence.seen("ana")
        deadline = time.monotonic() + 1.0
        seen: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            event = await next_event(pubsub, 0.1)
            if event and event.get("case_id") == case.id:
                seen.append(event)
    assert not [e for e in seen if e.get("outcome") == "announced"]
