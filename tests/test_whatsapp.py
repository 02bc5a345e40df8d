"""The WhatsApp channel: webhook payloads in the Cloud API's documented shapes, sending
against a local stand-in of the Graph API (tests/graph_standin.py), the real Redis and the
real Rasa server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.channels.whatsapp import WhatsAppChannel
from bot.store.users import Role
from bot.store.whatsapp import GROUP
from tests.chat import channel_of
from tests.console import Operator
from tests.eventually import eventually
from tests.graph_standin import (
    VERIFY_TOKEN,
    body_text,
    button_reply,
    choices,
    encode,
    list_reply,
    msg,
    payload,
    sign,
    text,
    value,
)
from tests.harness import Helpline, serving

pytestmark = pytest.mark.rasa


@pytest.fixture
async def wa(redis_url: str, rasa_url: str, key_prefix: str) -> AsyncIterator[Helpline]:
    async with serving(
        redis_url, rasa_url, key_prefix, whatsapp=True, media_max_bytes=50_000
    ) as helpline:
        yield helpline


def _to(wa_id: str, words: str) -> Any:
    return lambda body: body["to"] == wa_id and words.lower() in body_text(body).lower()


async def test_the_verification_handshake(wa: Helpline) -> None:
    good = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    async with wa.chat.session.get(wa.whatsapp_url, params=good) as response:
        assert response.status == 200 and await response.text() == "1158201444"
    bad = {**good, "hub.verify_token": "guess"}
    async with wa.chat.session.get(wa.whatsapp_url, params=bad) as response:
        assert response.status == 403


async def test_signatures_bodies_and_shapes_are_checked_before_anything(wa: Helpline) -> None:
    data = payload(value([text("6281200000001", "halo")]))
    assert await wa.post(data, signature="") == 403
    assert await wa.post(data, signature="sha256=" + "0" * 64) == 403
    assert await wa.post(data, signature=sign(encode(data), "another secret")) == 403
    assert await wa.post(b"{not json") == 400
    assert await wa.post({"object": "page", "entry": []}) == 400
    assert await wa.post(b"x" * (1024 * 1024 + 10)) == 413
    await asyncio.sleep(0.3)  # silence: anything wrongly accepted would be answered by now
    assert wa.whatsapp.sent == [], "nothing rejected was handled"


async def test_a_conversation_with_lists_and_buttons(wa: Helpline) -> None:
    worker = "6281200000002"
    mark = await wa.says(text(worker, "halo kak"))
    countries = await wa.whatsapp.wait_for(lambda b: "country:hong_kong" in choices(b), after=mark)
    assert countries["interactive"]["type"] == "list"
    rows = countries["interactive"]["action"]["sections"][0]["rows"]
    assert len(rows) <= 10 and all(len(r["title"]) <= 24 for r in rows)
    mark = await wa.says(list_reply(worker, "country:hong_kong", "Hong Kong"))
    await wa.whatsapp.wait_for(_to(worker, "Hong Kong"), after=mark)
    mark = await wa.says(text(worker, "brp gaji minimum PRT di hongkong skrg?"))
    await wa.whatsapp.wait_for(_to(worker, "HK$5.100"), after=mark)
    helped = await wa.whatsapp.wait_for(lambda b: "helped:yes" in choices(b), after=mark)
    assert helped["interactive"]["type"] == "button"
    assert len(helped["interactive"]["action"]["buttons"]) <= 3
    assert len(helped["interactive"]["body"]["text"]) <= 1024
    mark = await wa.says(button_reply(worker, "helped:yes", "Ya"))
    await wa.whatsapp.wait_for(lambda b: b["to"] == worker, after=mark)
    # A quick-reply button of a template message.
    mark = await wa.says(msg(worker, "button", button={"payload": "menu", "text": "Menu"}))
    await wa.whatsapp.wait_for(lambda b: "menu:rights" in choices(b), after=mark)


async def test_duplicates_and_many_entries_at_once(wa: Helpline) -> None:
    first = text("6281200000003", "halo")
    data = payload(value([first]))
    assert await wa.post(data) == 200
    assert await wa.post(data) == 200  # Meta redelivers
    workers = [f"62812000001{i:02d}" for i in range(6)]
    many = payload(*(value([text(w, "hello")]) for w in workers))
    many["entry"][0]["changes"].append(
        {"field": "messages", "value": value([text("6281200000200", "halo")])}
    )
    assert await wa.post(many) == 200
    for wa_id in [*workers, "6281200000200"]:
        await wa.whatsapp.wait_for(lambda b, w=wa_id: b["to"] == w)  # type: ignore[misc]
    await asyncio.sleep(0.3)  # silence: a second welcome would follow the first at once
    welcomes = [t for t in wa.whatsapp.texts_to("6281200000003") if "180" in t]  # privacy
    assert len(welcomes) == 1


async def test_a_payload_left_by_a_process_that_died_is_taken_over(wa: Helpline) -> None:
    """Accepted (stored and answered 200), then its process died before handling it:
    once it has lain idle long enough another process handles it, and the worker is
    answered. Nothing accepted is lost."""
    channel = channel_of(wa.chat, WhatsAppChannel)
    channel.reclaim_after_ms = 300
    wa_id = "6281200000777"
    redis = wa.chat.redis
    # The dead process's read happens in the same transaction as the store, so the live
    # process never sees the payload as new: only the take-over can find it.
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(
            channel.payloads.stream,
            {"data": encode(payload(value([text(wa_id, "halo")]))).decode()},
        )
        pipe.xreadgroup(GROUP, "a-process-that-died", {channel.payloads.stream: ">"}, count=1)
        _, taken = await pipe.execute()
    assert taken and taken[0][1], "the dead process did not take the payload"
    assert (await redis.xpending(channel.payloads.stream, GROUP))["pending"] == 1
    await wa.whatsapp.wait_for(lambda b: b["to"] == wa_id, seconds=10)
    assert any("180" in t for t in wa.whatsapp.texts_to(wa_id))  # the welcome's privacy
    await eventually(
        lambda: redis.xpending(channel.payloads.stream, GROUP),
        lambda pending: pending["pending"] == 0,
        what="the taken-over payload is acknowledged",
    )


async def test_locations_and_media_go_to_the_case_and_oddities_get_a_polite_word(
    wa: Helpline,
) -> None:
    worker = "6281200000004"
    mark = await wa.says(text(worker, "I want to talk to a person"))
    await wa.whatsapp.wait_for(_to(worker, "queue"), after=mark)
    case = await wa.chat.services.cases.open_case_of(f"whatsapp:{worker}")
    assert case is not None
    wa.whatsapp.media["MEDIA-1"] = (b"%PDF-1.4 contract", "application/pdf")
    wa.whatsapp.media["MEDIA-2"] = (b"\xff\xd8 jpeg", "image/jpeg")
    wa.whatsapp.media["MEDIA-3"] = (b"OggS voice", "audio/ogg")
    wa.whatsapp.media["BIG"] = (b"x" * 60_000, "image/jpeg")
    await wa.says(
        msg(worker, "location", location={"latitude": 1.29, "longitude": 103.85, "name": "MRT"}),
        msg(worker, "document", document={"id": "MEDIA-1", "mime_type": "application/pdf",
                                           "filename": "kontrak.pdf"}),
        msg(worker, "image", image={"id": "MEDIA-2", "mime_type": "image/jpeg", "caption": "luka"}),
        msg(worker, "audio", audio={"id": "MEDIA-3", "mime_type": "audio/ogg", "voice": True}),
    )  # fmt: skip
    timeline = await eventually(
        lambda: wa.chat.services.cases.timeline(case.id),
        lambda timeline: (
            [e["kind"] for e in timeline].count("media") == 3
            and any(e["kind"] == "location" for e in timeline)
        ),
        what="three media and a location reach the case",
        seconds=10,
    )
    stored = [
        await wa.chat.services.evidence.get(e["media"]["ref"])
        for e in timeline
        if e["kind"] == "media"
    ]
    assert sorted(s.data for s in stored if s) == [
        b"%PDF-1.4 contract",
        b"OggS voice",
        b"\xff\xd8 jpeg",
    ]
    mark = await wa.says(msg(worker, "image", image={"id": "BIG", "mime_type": "image/jpeg"}))
    await wa.whatsapp.wait_for(_to(worker, "too large"), after=mark)
    mark = await wa.says(msg(worker, "image", image={"id": "NO-SUCH-MEDIA"}))
    await wa.whatsapp.wait_for(_to(worker, "could not receive"), after=mark)
    reaction = {"message_id": "wamid.x", "emoji": "👍"}
    mark = await wa.says(msg(worker, "reaction", reaction=reaction))
    await wa.whatsapp.wait_for(_to(worker, "in words"), after=mark)
    mark = await wa.says(msg(worker, "unsupported", errors=[{"code": 131051}]))
    await wa.whatsapp.wait_for(_to(worker, "in words"), after=mark)


async def test_a_media_fetch_that_times_out_is_told_and_the_rest_goes_on(wa: Helpline) -> None:
    graph = channel_of(wa.chat, WhatsAppChannel).graph
    graph.timeout = aiohttp.ClientTimeout(total=1)
    await graph.close()
    await graph.open()
    wa.whatsapp.slow_media.add("SLOW")
    worker = "6281200000005"
    mark = await wa.says(msg(worker, "image", image={"id": "SLOW"}), text(worker, "hello"))
    # A worker the bot does not know yet is told in Indonesian, the default.
    await wa.whatsapp.wait_for(_to(worker, "tidak bisa saya terima"), after=mark)
    await wa.whatsapp.wait_for(_to(worker, "welcome"), after=mark)


async def test_rate_limits_and_server_errors_are_retried(wa: Helpline) -> None:
    wa.whatsapp.errors = [130429, 131056, 503]
    worker = "6281200000006"
    mark = await wa.says(text(worker, "hello"))
    await wa.whatsapp.wait_for(lambda b: b["to"] == worker, after=mark)
    assert wa.whatsapp.attempts >= 4


async def test_status_callbacks_are_recorded_and_failures_shown_on_the_case(wa: Helpline) -> None:
    worker = "6281200000007"
    mark = await wa.says(text(worker, "I want to talk to a person"))
    await wa.whatsapp.wait_for(_to(worker, "queue"), after=mark)
    keys = wa.chat.helpline.keys
    sent_ids = [k for k in await wa.chat.redis.keys(keys.whatsapp_sent("*"))]
    wamid = sent_ids[0].rsplit(":", 1)[-1]
    statuses = [
        {"id": wamid, "status": status, "timestamp": str(int(time.time())), "recipient_id": worker}
        for status in ("sent", "delivered", "read")
    ]
    failed = {
        "id": wamid,
        "status": "failed",
        "timestamp": str(int(time.time())),
        "recipient_id": worker,
        "errors": [{"code": 131047, "title": "Re-engagement message"}],
    }
    assert await wa.post(payload(value(statuses=[*statuses, failed]))) == 200
    case = await wa.chat.services.cases.open_case_of(f"whatsapp:{worker}")
    assert case is not None
    timeline = await eventually(
        lambda: wa.chat.services.cases.timeline(case.id),
        lambda timeline: any(e["kind"] == "delivery_failed" for e in timeline),
        what="the failed delivery is shown on the case",
    )
    failure = next(e for e in timeline if e["kind"] == "delivery_failed")
    assert "131047" in failure["error"]
    recorded = await wa.chat.redis.hgetall(keys.whatsapp_status(wamid))
    assert recorded["status"] == "failed"
    operator = await Operator.signed_in(wa.chat, "budi", Role.OPERATOR)
    try:
        page = (await operator.get(f"/console/cases/{case.id}"))[1]
        assert "was not delivered" in page and "131047" in page
    finally:
        await operator.close()


async def _claimed_emergency(wa: Helpline, worker: str) -> tuple[Operator, str]:
    mark = await wa.says(text(worker, "tolong majikan sy mukul sy td malam, sy di hongkong"))
    await wa.whatsapp.wait_for(_to(worker, "999"), after=mark)
    case = await wa.chat.services.cases.open_case_of(f"whatsapp:{worker}")
    assert case is not None and case.priority == "critical"
    operator = await Operator.signed_in(wa.chat, "sari", Role.OPERATOR)
    status, _page, _ = await operator.post(f"/console/cases/{case.id}/claim")
    assert status == 200
    return operator, case.id


async def test_an_emergency_on_whatsapp_answered_by_an_operator(wa: Helpline) -> None:
    worker = "6281200000008"
    operator, case_id = await _claimed_emergency(wa, worker)
    try:
        mark = len(wa.whatsapp.sent)
        status, _page, _ = await operator.post(
            f"/console/cases/{case_id}/reply", {"text": "Kami di sini. Kamu aman?"}
        )
        assert status == 200
        reply = await wa.whatsapp.wait_for(lambda b: b["to"] == worker, after=mark)
        assert body_text(reply) == "👤 Sari: Kami di sini. Kamu aman?"
    finally:
        await operator.close()


async def test_an_operator_reply_outside_the_24_hour_window(wa: Helpline) -> None:
    worker = "6281200000009"
    operator, case_id = await _claimed_emergency(wa, worker)
    try:
        key = wa.chat.helpline.keys.whatsapp_last_in(worker)
        await wa.chat.redis.set(key, str(time.time() - 25 * 3600))
        mark = len(wa.whatsapp.sent)
        status, page, _ = await operator.post(
            f"/console/cases/{case_id}/reply", {"text": "Apa kabar sekarang?"}
        )
        assert status == 409 and "24 hours" in page and "Apa kabar sekarang?" in page
        assert 'action="/console/cases/' + case_id + '/template"' in page
        status, _page, _ = await operator.post(f"/console/cases/{case_id}/template")
        assert status == 200
        sent = await wa.whatsapp.wait_for(lambda b: b["to"] == worker, after=mark)
        assert sent["type"] == "template"
        assert sent["template"]["name"] == "helpline_follow_up"
        assert all(b["type"] == "template" for b in wa.whatsapp.sent[mark:])
    finally:
        await operator.close()
