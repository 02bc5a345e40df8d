"""The operator queue against a real Redis: ordering, atomic claims, vanished claimers,
re-announcement timing. The NLU is not needed here (the ``desk`` harness: Redis only).

The queue watch's waiting times run on a clock the tests move (``Clock``), so they
assert which announcement goes out at which moment, never wall-clock gaps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from bot.queue_watch import QueueWatch, WaitingLimits
from bot.staffing import StaffedHours
from bot.store.cases import Case, Priority
from bot.store.escalations import AlreadyClaimed, Escalation, NotQueued, QueueEntry
from bot.store.events import next_event
from bot.store.sessions import BOT
from bot.store.users import Role, User
from tests.chat import Chat
from tests.eventually import eventually


class Clock:
    """The queue watch's "now", set by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _watch(
    chat: Chat, clock: Callable[[], float] = time.time, presence_seconds: float = 90.0
) -> QueueWatch:
    """A queue watch of its own: the helpline's runs too, but with the default limits
    (a minute and more) it never announces within a test."""
    return QueueWatch(
        chat.queue,
        chat.casework,
        chat.helpline.events,
        chat.helpline.presence,
        limits=WaitingLimits(reannounce_seconds=60, supervisor_after_seconds=600),
        hours=StaffedHours.parse("always", "Asia/Jakarta"),
        presence_seconds=presence_seconds,
        clock=clock,
    )


async def _heard(chat: Chat, pubsub: Any, case_id: str) -> list[dict[str, Any]]:
    """The queue's events about the case (not its "case" changes) published until now,
    in order: a marker published now comes back after all of them, so no waiting for
    silence."""
    marker = f"marker-{time.monotonic_ns()}"
    await chat.console.events.publish("marker", case_id=marker)
    heard: list[dict[str, Any]] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        # None also for the subscription's own confirmation: not the end.
        event = await next_event(pubsub, 0.5)
        if event is not None and event.get("case_id") == marker:
            return heard
        if event is not None and event.get("case_id") == case_id and event["type"] != "case":
            heard.append(event)
    raise AssertionError(f"the marker event never came back; heard: {heard}")


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


async def test_emergencies_first_then_oldest_first_within_a_priority(desk: Chat) -> None:
    a = await _case(desk, Priority.NORMAL)
    b = await _case(desk, Priority.CRITICAL, "emergency")
    c = await _case(desk, Priority.NORMAL, "complaint")
    d = await _case(desk, Priority.CRITICAL, "emergency")
    assert _ids(await desk.queue.waiting()) == [b.id, d.id, a.id, c.id]
    assert await desk.queue.position(c.id) == 4
    # A waiting "talk to a person" that turns into an emergency moves up, not twice.
    assert await desk.queue.put(Escalation(c.id, "critical", "emergency", "x")) == "raised"
    assert _ids(await desk.queue.waiting()) == [b.id, d.id, c.id, a.id]
    assert await desk.queue.put(Escalation(c.id, "normal", "human", "x")) == "kept"
    assert len(await desk.queue.waiting()) == 4


async def test_two_operators_can_never_claim_the_same_escalation(desk: Chat) -> None:
    case = await _case(desk, Priority.CRITICAL, "emergency")
    operators = [f"op{i}" for i in range(20)]
    results = await asyncio.gather(
        *(desk.queue.claim(case.id, name) for name in operators), return_exceptions=True
    )
    winners = [name for name, result in zip(operators, results, strict=True) if result is None]
    assert len(winners) == 1
    losers = [r for r in results if r is not None]
    assert all(isinstance(r, AlreadyClaimed) and r.holder == winners[0] for r in losers)
    assert await desk.queue.holder(case.id) == winners[0]


async def test_take_the_next_hands_each_escalation_to_exactly_one_operator(
    desk: Chat,
) -> None:
    cases = [await _case(desk, Priority.NORMAL) for _ in range(5)]
    urgent = await _case(desk, Priority.CRITICAL, "emergency")
    got = await asyncio.gather(*(desk.queue.claim_next(f"op{i}") for i in range(9)))
    taken = [g for g in got if g is not None]
    assert sorted(taken) == sorted([c.id for c in cases] + [urgent.id])
    assert got.count(None) == 3


async def test_take_the_next_gives_the_emergency_first_then_the_oldest(desk: Chat) -> None:
    # Asked one after the other: concurrent requests reach Redis over different
    # connections, in no order the test can rely on.
    first = await _case(desk, Priority.NORMAL)
    second = await _case(desk, Priority.NORMAL)
    urgent = await _case(desk, Priority.CRITICAL, "emergency")
    taken = [await desk.queue.claim_next(f"op{i}") for i in range(4)]
    assert taken == [urgent.id, first.id, second.id, None]


async def test_release_puts_it_back_at_its_old_place_and_transfer_checks_the_holder(
    desk: Chat,
) -> None:
    first = await _case(desk, Priority.NORMAL)
    second = await _case(desk, Priority.NORMAL)
    await desk.queue.claim(first.id, "ana")
    assert _ids(await desk.queue.waiting()) == [second.id]
    with pytest.raises(AlreadyClaimed):
        await desk.queue.release(first.id, "budi")
    with pytest.raises(AlreadyClaimed):
        await desk.queue.transfer(first.id, "citra", operator="budi")
    await desk.queue.transfer(first.id, "citra", operator="ana")
    assert await desk.queue.holder(first.id) == "citra"
    await desk.queue.release(first.id, "citra")
    assert _ids(await desk.queue.waiting()) == [first.id, second.id]
    assert await desk.queue.done(first.id) is True
    with pytest.raises(NotQueued):
        await desk.queue.claim(first.id, "ana")


async def test_a_claim_by_someone_who_disappeared_is_redelivered(desk: Chat) -> None:
    worker = f"webchat:{time.monotonic_ns()}"
    case = await _case(desk, Priority.CRITICAL, "emergency", sender=worker)
    ghost = User("ghost", Role.OPERATOR.value, "Ghost", "x")
    present = User("present", Role.OPERATOR.value, "Present", "x")
    other = await _case(desk, Priority.CRITICAL, "emergency")
    await desk.casework.claim(case.id, ghost)
    await desk.casework.claim(other.id, present)
    session = await desk.services.sessions.load(worker)
    assert session.owner == "operator:ghost"
    # The claims' idle times are Redis's own, so this one waits (briefly) for real.
    watch = _watch(desk, presence_seconds=0.5)
    await watch.tick()
    assert await desk.queue.holder(case.id) == "ghost", "released within the window"

    async def tick() -> list[str]:
        await desk.console.presence.seen("present")
        await watch.tick()
        return _ids(await desk.queue.waiting())

    # The ghost's claim goes back to waiting; the present operator keeps theirs.
    await eventually(tick, lambda ids: ids == [case.id], what="the ghost's claim released")
    assert await desk.queue.holder(other.id) == "present"
    reloaded = await desk.services.cases.get(case.id)
    assert reloaded is not None and reloaded.assignee is None and reloaded.status == "new"
    session = await desk.services.sessions.load(worker)
    assert session.owner == BOT and session.case_id == case.id
    told = [m["text"] for _, m in await desk.services.outbox.read(worker)]
    assert any("back in our queue" in text for text in told)


async def test_an_unclaimed_emergency_is_announced_again_then_raised_to_a_supervisor(
    desk: Chat,
) -> None:
    async with desk.console.events.subscribe() as pubsub:
        case = await _case(desk, Priority.CRITICAL, "emergency")
        entry = await desk.queue.find(case.id)
        assert entry is not None
        clock = Clock(entry.escalation.created_at)
        # Two bot processes watch the same queue, at the same moments.
        watches = [_watch(desk, clock), _watch(desk, clock)]
        heard: list[tuple[float, dict[str, Any]]] = []
        for waited in (0, 59.5, 60, 90, 120, 120, 540, 599.5, 600, 630, 660):
            clock.now = entry.escalation.created_at + waited
            for watch in watches:
                await watch.tick()
            heard += [(waited, e) for e in await _heard(desk, pubsub, case.id)]
    assert [(e["type"], e.get("outcome")) for _, e in heard[:1]] == [("escalation", "added")]
    # Once a minute, never early, each once however many processes watch; a watch
    # that missed some minutes announces the current one.
    again = [(waited, e["announcement"]) for waited, e in heard if e.get("outcome") == "announced"]
    assert again == [(60, 1), (120, 2), (540, 9), (600, 10), (660, 11)]
    supervisor = [waited for waited, e in heard if e["type"] == "supervisor"]
    assert supervisor == [600]
    timeline = [e["kind"] for e in await desk.services.cases.timeline(case.id)]
    assert timeline.count("raised_to_supervisor") == 1


async def test_a_complaint_is_announced_past_its_own_limit_and_raised_once(
    desk: Chat,
) -> None:
    async with desk.console.events.subscribe() as pubsub:
        case = await _case(desk, Priority.NORMAL, "complaint")
        entry = await desk.queue.find(case.id)
        assert entry is not None
        clock = Clock(entry.escalation.created_at)
        watch = _watch(desk, clock)  # complaints: four hours, staffed all day
        heard: list[tuple[float, dict[str, Any]]] = []
        for hours in (0, 1, 3.99, 4, 5, 8):
            clock.now = entry.escalation.created_at + hours * 3600
            await watch.tick()
            heard += [(hours, e) for e in await _heard(desk, pubsub, case.id)]
    again = [
        (h, e["reason"], e["announcement"]) for h, e in heard if e.get("outcome") == "announced"
    ]
    assert again == [(4, "waiting_limit", 1), (8, "waiting_limit", 2)]
    assert [h for h, e in heard if e["type"] == "supervisor"] == [4]


async def test_a_claimed_emergency_is_not_announced_again(desk: Chat) -> None:
    async with desk.console.events.subscribe() as pubsub:
        case = await _case(desk, Priority.CRITICAL, "emergency")
        await desk.queue.claim(case.id, "ana")
        await desk.console.presence.seen("ana")
        entry = await desk.queue.find(case.id)
        assert entry is not None
        clock = Clock(entry.escalation.created_at)
        watch = _watch(desk, clock)
        heard = []
        for waited in (60, 600, 3600):
            clock.now = entry.escalation.created_at + waited
            await watch.tick()
            heard += await _heard(desk, pubsub, case.id)
    assert [e for e in heard if e.get("outcome") == "announced" or e["type"] == "supervisor"] == []
    assert await desk.queue.holder(case.id) == "ana"
