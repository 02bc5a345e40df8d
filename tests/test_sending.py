"""Replies reach Telegram and WhatsApp workers even when the platform refuses for a while.

Regression: a send Telegram refused (a network error, a 5xx) was logged and dropped, and
so was one WhatsApp refused past the client's few quick retries - the worker never got
that reply, and nothing said so. Now a reply is kept until the platform takes it
(bot/store/sends.py) and tried again (bot/delivery.py), later replies to the same worker
waiting behind it; one the platform will never take (the worker blocked the bot) is shown
on the worker's case.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.eventually import eventually
from tests.graph_standin import text as wa_text
from tests.harness import Helpline, serving
from tests.telegram_standin import person, text, to_chat

pytestmark = pytest.mark.rasa


@pytest.fixture
async def helpline(redis_url: str, rasa_url: str, key_prefix: str) -> AsyncIterator[Helpline]:
    async with serving(redis_url, rasa_url, key_prefix, telegram=True, whatsapp=True) as h:
        yield h


async def _kept(helpline: Helpline, sender: str) -> list[str]:
    """What the bot said to the worker, as the transcript keeps it."""
    transcript = await helpline.chat.services.outbox.read(sender, count=1000)
    return [str(m["text"]) for _, m in transcript if m.get("from") == "bot"]


async def test_replies_telegram_refused_go_out_in_order_once_it_is_back(
    helpline: Helpline,
) -> None:
    api, worker = helpline.telegram, person(7401, "en")
    api.failing = to_chat(worker["id"])
    api.push(text(worker, "what is the minimum wage in hong kong"))
    await eventually(lambda: api.refused, what="Telegram refusing the reply", seconds=15)
    # A second message while the first reply waits: its reply goes after it.
    api.push(text(worker, "how many rest days do i get in hong kong"))
    await eventually(lambda: _kept(helpline, f"telegram:{worker['id']}"),
                     lambda kept: len(kept) >= 2 and len(api.refused) >= 2,
                     what="both answered, the first tried again", seconds=15)  # fmt: skip
    assert api.texts_to(worker["id"]) == []
    api.failing = None
    kept = await _kept(helpline, f"telegram:{worker['id']}")
    await eventually(lambda: api.texts_to(worker["id"]), lambda got: len(got) >= len(kept),
                     what="every reply sent once Telegram is back", seconds=15)  # fmt: skip
    await asyncio.sleep(1.0)  # a second copy would come now
    got = api.texts_to(worker["id"])
    assert got == kept
    # The wage answer (the first message's) before the rest-day answer (the second's).
    wage = next(n for n, t in enumerate(got) if "wage" in t.lower())
    rest = next(n for n, t in enumerate(got) if "rest day" in t.lower())
    assert wage < rest, got


async def test_a_reply_whatsapp_refused_past_its_retries_is_sent_later(
    helpline: Helpline,
) -> None:
    api, worker = helpline.whatsapp, "6281200007402"
    # More 503s than the Graph client retries at once (5): before, the reply was lost.
    api.errors = [503] * 7
    mark = await helpline.says(wa_text(worker, "hello"))
    reply = await api.wait_for(lambda b: b["to"] == worker, after=mark, seconds=20)
    assert api.attempts >= 8, api.attempts
    await asyncio.sleep(1.0)
    kept = await _kept(helpline, f"whatsapp:{worker}")
    assert api.texts_to(worker) == kept, (api.texts_to(worker), kept)
    assert reply in api.to(worker)


async def test_a_worker_who_blocked_the_bot_is_shown_on_their_case(helpline: Helpline) -> None:
    api, worker = helpline.telegram, person(7403, "id")
    api.forbidden = to_chat(worker["id"])
    api.push(text(worker, "tolong majikan sy mukul sy td malam, sy di hongkong"))
    cases = helpline.chat.services.cases
    case = await eventually(lambda: cases.open_case_of(f"telegram:{worker['id']}"),
                            what="the emergency's case", seconds=15)  # fmt: skip
    assert case is not None
    timeline = await eventually(
        lambda: cases.timeline(case.id),
        lambda timeline: any(e["kind"] == "delivery_failed" for e in timeline),
        what="the failed reply shown on the case",
    )
    failure = next(e for e in timeline if e["kind"] == "delivery_failed")
    assert "Forbidden" in failure["error"], failure
    tried = len(api.sent(chat_id=worker["id"]))
    await asyncio.sleep(3.0)  # not tried again: blocking is for good
    assert len(api.sent(chat_id=worker["id"])) == tried
