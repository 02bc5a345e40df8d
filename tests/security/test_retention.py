"""Retention (issue 18, medium): a closed case keeps only its anonymous record after the
retention period, dead letters and audit entries go after theirs, and `helpline
retention` reports what is held and what goes when."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest

from bot.store.cases import Status
from bot.store.retention import Retention, Rules
from bot.store.users import Role, User
from tests.chat import Chat
from tests.conftest import make_settings
from tests.eventually import eventually

pytestmark = pytest.mark.rasa

JPEG = b"\xff\xd8 retention photo"


@pytest.fixture
async def short(redis_url: str, rasa_url: str, key_prefix: str) -> AsyncIterator[Chat]:
    settings = make_settings(redis_url, rasa_url, key_prefix, case_retention_days=0.00002)
    async with Chat.serve(settings) as chat:
        yield chat


async def test_a_closed_case_keeps_only_its_anonymous_record(
    short: Chat, redis_url: str, key_prefix: str
) -> None:
    chat = short
    worker = await chat.new_worker()
    await worker.say("tolong majikan sy mukul sy td malam, sy di hongkong")
    await worker.upload(JPEG)
    case = await chat.services.cases.open_case_of(worker.sender)
    assert case is not None
    ref = (await chat.media_refs(case.id))[0]
    operator = User("ana", Role.OPERATOR.value, "Ana", "x")
    await chat.casework.claim(case.id, operator)

    await chat.casework.set_status(case.id, operator, Status.CLOSED, outcome="resolved_paid")
    await worker.press(f"rate:{case.id}:5")
    await worker.say("ibu ana baik sekali, nomor sy 0812345678")
    rated = await eventually(
        lambda: chat.services.cases.get(case.id),
        lambda c: c is not None and bool(c.rating.get("comment")),
        what="the worker's rating and comment",
    )
    assert rated is not None and rated.rating["score"] == 5
    old = await chat.redis.xadd(
        f"{key_prefix}:whatsapp:dead",
        {"data": "x"},
        id=f"{int((time.time() - 40 * 86400) * 1000)}-0",
    )
    assert old
    retention = Retention(
        chat.redis, chat.app["redis_binary"] if False else chat.services.evidence._redis,
        chat.helpline.keys, chat.services.cases, Rules(case_days=0.00002),
    )  # fmt: skip
    # Kept in full until its retention (here 1.7 s) has passed, then reduced.
    done = await retention.sweep()
    assert done["dead_letters"] == 1
    assert (await chat.services.cases.get(case.id)).summary  # type: ignore[union-attr]
    await eventually(
        retention.sweep, lambda done: done["cases"] >= 1, what="the closed case reduced"
    )
    reduced = await chat.services.cases.get(case.id)
    assert reduced is not None
    assert (reduced.sender, reduced.summary, reduced.marks) == (None, "", {})
    assert (reduced.category, reduced.country, reduced.priority) == (
        case.category,
        case.country,
        case.priority,
    )
    assert await chat.services.cases.timeline(case.id) == []
    assert reduced.rating.get("score") == 5 and "comment" not in reduced.rating
    assert reduced.outcome == "resolved_paid"
    assert not await chat.redis.exists(chat.helpline.keys.case_words(case.id))
    assert await chat.services.evidence.get(ref) is None
    env = dict(os.environ, HELPLINE_REDIS_URL=redis_url, HELPLINE_KEY_PREFIX=key_prefix)
    report = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "retention"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    for kind in ("open cases", "closed cases (anonymous record)", "dead letters", "audit"):
        assert kind in report.stdout
