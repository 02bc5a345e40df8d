"""Awareness alerts (issue 23): workers opt in per country and channel, one editor writes
an alert, a second approves it, and it reaches the opted-in workers through the Telegram
and WhatsApp stand-ins within each platform's limits - WhatsApp outside the 24-hour window
only as the approved template. STOP opts out; the report counts what was sent, what failed
and who blocked the bot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.store.alerts import Alerts
from bot.store.connection import connect_redis
from bot.store.keys import Keys
from bot.store.users import Role
from tests.console import Operator
from tests.eventually import eventually
from tests.graph_standin import button_reply
from tests.graph_standin import text as wa_text
from tests.harness import Helpline, serving
from tests.telegram_standin import BotAPI, person, press, text, to_chat

pytestmark = pytest.mark.rasa

BULK = 60
WORDS_ID = "Awas agen palsu PT Contoh Jaya menawarkan kerja di Hong Kong tanpa biaya."
WORDS_EN = "Beware: the fake agency PT Contoh Jaya offers jobs in Hong Kong at no cost."


@pytest.fixture
async def helpline(redis_url: str, rasa_url: str, key_prefix: str) -> AsyncIterator[Helpline]:
    async with serving(
        redis_url, rasa_url, key_prefix, telegram=True, whatsapp=True,
        whatsapp_alert_template="helpline_alert",
    ) as h:  # fmt: skip
        yield h


async def _each_answered(api: BotAPI, user_id: int, *updates: dict[str, Any]) -> None:
    """Pushes the worker's updates one by one, each once the bot answered the last."""
    for update in updates:
        mark = len(api.calls)
        api.push(update)
        await api.wait_for("sendMessage", lambda p: int(p["chat_id"]) == user_id, after=mark)


async def _telegram_worker(h: Helpline, user_id: int, country: str, lang: str = "id") -> None:
    worker = person(user_id, lang)
    greeting = "hello" if lang == "en" else "halo"
    await _each_answered(h.telegram, user_id, text(worker, greeting),
                         press(worker, f"country:{country}"), press(worker, "alerts"),
                         press(worker, "alerts:on"))  # fmt: skip


async def _alert(h: Helpline) -> dict[str, int | str]:
    alerts = h.chat.helpline.services.alerts
    ani = await Operator.signed_in(h.chat, "ani", Role.EDITOR)
    budi = await Operator.signed_in(h.chat, "budi", Role.EDITOR)
    try:
        form = [("title", "Fake agency"), ("country", "hong_kong"),
                ("channel_telegram", "1"), ("channel_whatsapp", "1"),
                ("text_id", WORDS_ID), ("text_en", WORDS_EN)]  # fmt: skip
        status, _page, _where = await ani.post("/console/content/alerts/save", form)
        assert status == 200
        [draft] = await alerts.all()
        # The one who wrote it cannot approve it.
        status, page, _ = await ani.post("/console/content/alerts/approve", {"id": draft.id})
        assert status == 400 and "another editor" in page
        status, _page, _ = await budi.post("/console/content/alerts/approve", {"id": draft.id})
        assert status == 200

        async def progress() -> dict[str, int | str]:
            _status, body = await budi.get(f"/console/content/alerts/progress/{draft.id}")
            found: dict[str, int | str] = json.loads(body)
            return found

        done = await eventually(progress, lambda p: p["state"] == "done", seconds=30,
                                what="the alert sent to everyone")  # fmt: skip
        _status, page = await budi.get("/console/content/alerts")
        assert "Fake agency" in page
        return done
    finally:
        await ani.close()
        await budi.close()


async def test_an_approved_alert_reaches_opted_in_workers_within_the_limits(
    helpline: Helpline,
) -> None:
    api, graph = helpline.telegram, helpline.whatsapp
    alerts = helpline.chat.helpline.services.alerts
    await _telegram_worker(helpline, 8101, "hong_kong", "en")
    await _telegram_worker(helpline, 8102, "taiwan")  # another country
    await _telegram_worker(helpline, 8103, "hong_kong")
    mark = len(api.calls)
    api.push(text(person(8103, "id"), "STOP"))  # one word
    stopped = await api.wait_for("sendMessage", lambda p: int(p["chat_id"]) == 8103, after=mark)
    assert "alert" in stopped["text"].lower() or "peringatan" in stopped["text"].lower()
    # A WhatsApp worker who wrote today (window open) ...
    wa = "6281200008104"
    for message in (wa_text(wa, "halo"), button_reply(wa, "country:hong_kong"),
                    button_reply(wa, "alerts"), button_reply(wa, "alerts:on")):  # fmt: skip
        mark = await helpline.says(message)
        await graph.wait_for(lambda b: b["to"] == wa, after=mark)
    # ... and one whose window closed long ago (opted in then), and many on Telegram, one
    # of whom blocked the bot since.
    await alerts.subscribe("whatsapp:6281200008105", "hong_kong")
    for n in range(BULK):
        await alerts.subscribe(f"telegram:{9000 + n}", "hong_kong")
    api.forbidden = to_chat(9000)
    mark, wa_mark = len(api.calls), len(graph.sent)

    done = await _alert(helpline)

    assert done["recipients"] == 1 + BULK + 2  # 8101 (8103 stopped), bulk, two WhatsApp
    assert (done["sent"], done["blocked"], done["failed"], done["skipped"]) == (
        1 + BULK - 1 + 2, 1, 0, 0,
    )  # fmt: skip
    alerts_sent = [
        (at, p) for at, (m, p) in zip(api.stamps[mark:], api.calls[mark:], strict=True)
        if m == "sendMessage" and ("Contoh Jaya" in p["text"])
    ]  # fmt: skip
    chats = {int(p["chat_id"]) for _, p in alerts_sent}
    assert 8101 in chats and 8102 not in chats and 8103 not in chats
    assert len(chats) == 1 + BULK
    english = next(p["text"] for _, p in alerts_sent if int(p["chat_id"]) == 8101)
    assert WORDS_EN in english and "STOP" in english
    # Telegram: never more than 30 messages in any second.
    times = sorted(at for at, _ in alerts_sent)
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 30, busiest
    # WhatsApp: a text inside the window, the approved template with the text outside it.
    sent = graph.sent[wa_mark:]
    inside = next(b for b in sent if b["to"] == wa)
    assert inside["type"] == "text" and "Contoh Jaya" in inside["text"]["body"]
    outside = next(b for b in sent if b["to"] == "6281200008105")
    assert outside["type"] == "template" and outside["template"]["name"] == "helpline_alert"
    parameter = outside["template"]["components"][0]["parameters"][0]["text"]
    assert WORDS_ID in parameter and "STOP" in parameter
    # The worker's own transcript keeps it.
    transcript = await helpline.chat.services.outbox.read("telegram:8101", count=100)
    assert any("Contoh Jaya" in m["text"] for _, m in transcript)
    print(f"\n{len(times)} alerts on Telegram in {times[-1] - times[0]:.2f} s, "
          f"at most {busiest} in one second")  # fmt: skip


async def test_erasing_one_s_data_ends_their_alerts(helpline: Helpline) -> None:
    await _telegram_worker(helpline, 8201, "malaysia")
    alerts = helpline.chat.helpline.services.alerts
    assert "telegram:8201" in await alerts.subscribers("malaysia", ["telegram"])
    api, worker = helpline.telegram, person(8201, "id")
    api.push(text(worker, "hapus data saya"))
    await eventually(lambda: api.sent(chat_id=8201),
                     lambda s: any("delete:confirm" in str(p) for p in s), seconds=15,
                     what="the erase question")  # fmt: skip
    await _each_answered(api, 8201, press(worker, "delete:confirm"))
    assert await alerts.subscribers("malaysia", ["telegram"]) == []


async def test_alerts_follow_the_worker_to_a_new_country(helpline: Helpline) -> None:
    """However the country changes - the settings, or the calculator's own question - the
    subscription moves with it (bot/dispatch.py, after every turn)."""
    await _telegram_worker(helpline, 8301, "hong_kong")
    alerts = helpline.chat.helpline.services.alerts
    api, worker = helpline.telegram, person(8301, "id")
    await _each_answered(
        api, 8301, press(worker, "settings:country"), press(worker, "country:taiwan")
    )
    assert "telegram:8301" in await alerts.subscribers("taiwan", ["telegram"])
    assert await alerts.subscribers("hong_kong", ["telegram"]) == []
    session = await helpline.chat.services.sessions.load("telegram:8301")
    session.country = None  # "Another country" once: the calculator asks again
    await helpline.chat.services.sessions.save(session)
    await _each_answered(api, 8301, press(worker, "calc"), press(worker, "calc:country:japan"))
    assert "telegram:8301" in await alerts.subscribers("japan", ["telegram"])
    assert await alerts.subscribers("taiwan", ["telegram"]) == []


async def test_one_process_holds_the_sending_turn_until_it_lapses(
    redis_url: str, key_prefix: str
) -> None:
    """The platforms' limits are per bot: one process sends at a time. The holder renews
    its turn; another takes it only once it has lapsed, and the first cannot renew it then."""
    redis = connect_redis(redis_url)
    try:
        alerts = Alerts(redis, Keys(f"{key_prefix}-turn"))
        assert await alerts.claim_sending("bot-a", 0.3)
        assert not await alerts.claim_sending("bot-b", 0.3)
        await asyncio.sleep(0.2)
        assert await alerts.claim_sending("bot-a", 0.3)  # renewed: 0.3 s from now
        await asyncio.sleep(0.2)
        assert not await alerts.claim_sending("bot-b", 0.3)
        await asyncio.sleep(0.3)
        assert await alerts.claim_sending("bot-b", 0.3)
        assert not await alerts.claim_sending("bot-a", 0.3)
    finally:
        await redis.aclose()
