"""Every form of message on Telegram and WhatsApp, through their stand-ins (the real
python-telegram-bot client and the Cloud API's documented payloads), the real Redis and
the real Rasa server: a captioned photo, a bare location, a voice note and a document,
each with and without an open case; "not safe" in the operators' group; and bad input -
a file that cannot be fetched, one over the limit, coordinates off the globe, a caption
of 10,000 characters. Whatever happens, the worker still reaches a person and the
operator sees what could not be kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.store.cases import LISTEN, LOCATION_ONLY, NOT_SAFE, Case
from tests.chat import Chat
from tests.eventually import eventually
from tests.graph_standin import GraphAPI, msg
from tests.graph_standin import text as wa_text
from tests.harness import GROUP, Helpline, serving
from tests.telegram_standin import message, person, press
from tests.test_telegram import _operator, play

pytestmark = pytest.mark.rasa

LIMIT = 50_000


@pytest.fixture
async def tg(redis_url: str, rasa_url: str, key_prefix: str) -> AsyncIterator[Helpline]:
    async with serving(
        redis_url,
        rasa_url,
        key_prefix,
        telegram=True,
        media_max_bytes=LIMIT,
        location_answer_seconds=0.8,
        queue_watch_seconds=0.1,
    ) as helpline:
        yield helpline


@pytest.fixture
async def wa(redis_url: str, rasa_url: str, key_prefix: str) -> AsyncIterator[Helpline]:
    async with serving(
        redis_url, rasa_url, key_prefix, whatsapp=True, media_max_bytes=LIMIT
    ) as helpline:
        yield helpline


async def _open_case(chat: Chat, sender: str) -> Case:
    found: Case | None = await eventually(
        lambda: chat.services.cases.open_case_of(sender),
        lambda case: case is not None,
        what=f"an open case for {sender}",
    )
    assert found is not None
    return found


async def _timeline_has(chat: Chat, case: Case, kind: str) -> list[dict[str, Any]]:
    timeline = await eventually(
        lambda: chat.services.cases.timeline(case.id),
        lambda events: any(e["kind"] == kind for e in events),
        what=f"a {kind} on {case.id}",
    )
    return [e for e in timeline if e["kind"] == kind]


def _photo(file_id: str, size: int) -> list[dict[str, Any]]:
    return [{"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 800, "height": 600,
             "file_size": size}]  # fmt: skip


# -- Telegram ------------------------------------------------------------------------


async def test_telegram_captioned_photo_without_a_case_opens_a_critical_case(
    tg: Helpline,
) -> None:
    api, worker = tg.telegram, person(7100, "id")
    api.files["bruise"] = b"\xff\xd8 bruise"
    api.push(message(worker, photo=_photo("bruise", 14), caption="majikan pukul saya td mlm"))
    case = await _open_case(tg.chat, f"telegram:{worker['id']}")
    assert case.priority == "critical"
    media = await _timeline_has(tg.chat, case, "media")
    assert media[0]["text"] == "majikan pukul saya td mlm"
    stored = await tg.chat.services.evidence.get(media[0]["media"]["ref"])
    assert stored is not None and stored.data == b"\xff\xd8 bruise"
    await api.wait_for("sendMessage", lambda p: "safe:no" in str(p.get("reply_markup")))


async def test_telegram_bare_location_asks_and_an_unanswered_pin_reaches_an_operator(
    tg: Helpline,
) -> None:
    api, worker = tg.telegram, person(7200, "en")
    mark = len(api.calls)
    api.push(message(worker, location={"latitude": 25.03, "longitude": 121.56}))
    await api.wait_for("sendMessage", lambda p: "in danger now" in p["text"], after=mark)
    case = await _open_case(tg.chat, f"telegram:{worker['id']}")
    assert LOCATION_ONLY in case.marks and case.priority == "normal"
    pins = await _timeline_has(tg.chat, case, "location")
    assert pins[0]["location"] == {"latitude": 25.03, "longitude": 121.56}


async def test_telegram_location_answered_yes_opens_a_critical_case(tg: Helpline) -> None:
    api, worker = tg.telegram, person(7250, "en")
    mark = len(api.calls)
    api.push(message(worker, location={"latitude": 25.03, "longitude": 121.56}))
    await api.wait_for("sendMessage", lambda p: "in danger now" in p["text"], after=mark)
    api.push(press(worker, "danger:yes"))
    await api.wait_for("sendMessage", lambda p: "Are you safe now" in p["text"], after=mark)
    case = await _open_case(tg.chat, f"telegram:{worker['id']}")
    assert case.priority == "critical"
    await _timeline_has(tg.chat, case, "location")


async def test_telegram_voice_note_and_document_without_a_case(tg: Helpline) -> None:
    api, worker = tg.telegram, person(7300, "en")
    api.files["v1"] = b"OggS voice"
    mark = len(api.calls)
    api.push(message(worker, voice={"file_id": "v1", "file_unique_id": "uv1", "duration": 4,
                                    "mime_type": "audio/ogg", "file_size": 10}))  # fmt: skip
    await api.wait_for("sendMessage", lambda p: "listen to it" in p["text"], after=mark)
    case = await _open_case(tg.chat, f"telegram:{worker['id']}")
    assert LISTEN in case.marks and (await tg.chat.queue.find(case.id)) is not None
    # A document with no words, from a worker with nothing open, is kept for later.
    other = person(7301, "en")
    api.files["d1"] = b"%PDF contract"
    mark = len(api.calls)
    api.push(message(other, document={"file_id": "d1", "file_unique_id": "ud1",
                                      "file_name": "contract.pdf", "file_size": 13}))  # fmt: skip
    await api.wait_for("sendMessage", lambda p: "kept your document" in p["text"], after=mark)
    waiting = await tg.chat.services.waiting.of(f"telegram:{other['id']}")
    assert [e["media"]["name"] for e in waiting] == ["contract.pdf"]


async def test_telegram_voice_note_and_document_with_an_open_case(tg: Helpline) -> None:
    api, worker = tg.telegram, person(7400, "en")
    await play(api, worker, "worker: I want to talk to a person\nbot: ~in the queue")
    case = await _open_case(tg.chat, f"telegram:{worker['id']}")
    api.files["v2"] = b"OggS"
    api.files["d2"] = b"%PDF"
    api.push(message(worker, voice={"file_id": "v2", "file_unique_id": "uv2", "duration": 2,
                                    "file_size": 4}))  # fmt: skip
    api.push(message(worker, document={"file_id": "d2", "file_unique_id": "ud2",
                                       "file_name": "slip.pdf", "file_size": 4}))  # fmt: skip
    await eventually(
        lambda: tg.chat.services.cases.timeline(case.id),
        lambda events: sum(e["kind"] == "media" for e in events) == 2,
        what="both files on the case",
    )
    assert [c.id for c in await tg.chat.services.cases.of_sender(f"telegram:{worker['id']}")] == [
        case.id
    ]


async def test_telegram_a_file_that_cannot_be_fetched_still_reaches_a_person(
    tg: Helpline,
) -> None:
    api, worker = tg.telegram, person(7500, "id")
    mark = len(api.calls)
    # No such file at the Bot API: the download fails. The caption still counts.
    api.push(message(worker, photo=_photo("gone", 10), caption="tolong sy dipukul majikan"))
    case = await _open_case(tg.chat, f"telegram:{worker['id']}")
    assert case.priority == "critical"
    media = await _timeline_has(tg.chat, case, "media")
    assert media[0]["media"]["problem"] == "not_fetched" and media[0]["media"]["ref"] == ""
    await api.wait_for("sendMessage", lambda p: "tidak bisa saya terima" in p["text"], after=mark)


async def test_telegram_voice_note_over_the_limit_still_goes_to_a_person(tg: Helpline) -> None:
    api, worker = tg.telegram, person(7600, "en")
    api.push(message(worker, voice={"file_id": "huge", "file_unique_id": "uh", "duration": 600,
                                    "file_size": LIMIT * 10}))  # fmt: skip
    case = await _open_case(tg.chat, f"telegram:{worker['id']}")
    assert LISTEN in case.marks
    media = await _timeline_has(tg.chat, case, "media")
    assert media[0]["media"]["problem"] == "too_large"
    assert not api.sent("getFile")


async def test_telegram_coordinates_off_the_globe_and_a_10000_character_caption(
    tg: Helpline,
) -> None:
    api, worker = tg.telegram, person(7700, "en")
    mark = len(api.calls)
    api.push(message(worker, location={"latitude": 999.0, "longitude": -720.5}))
    await api.wait_for("sendMessage", lambda p: "could not read that location" in p["text"])
    api.push(press(worker, "danger:yes"))
    case = await _open_case(tg.chat, f"telegram:{worker['id']}")
    pins = await _timeline_has(tg.chat, case, "location")
    assert pins[0]["valid"] is False
    long = "majikan mukul sy tiap hari. " + "tolong " * 1430
    assert len(long) > 10_000
    other = person(7701, "en")
    api.files["p3"] = b"\xff\xd8"
    mark = len(api.calls)
    api.push(message(other, photo=_photo("p3", 2), caption=long))
    case = await _open_case(tg.chat, f"telegram:{other['id']}")
    assert case.priority == "critical"
    media = await _timeline_has(tg.chat, case, "media")
    assert media[0]["text"] == long  # nothing accepted is cut away
    await api.wait_for("sendMessage", lambda p: int(p["chat_id"]) == other["id"], after=mark)


async def test_not_safe_is_announced_again_in_the_operators_group(tg: Helpline) -> None:
    api = tg.telegram
    ana = await _operator(tg, "ana", "ana_oncall")
    worker = person(7800, "en")
    await play(
        api,
        worker,
        "worker: my employer beat me, I am in hong kong\nbot: ? safe:no\npress: safe:no\n"
        "bot: ~not safe",
    )
    post = await api.wait_for(
        "sendMessage", lambda p: int(p["chat_id"]) == GROUP and "NOT SAFE" in p["text"]
    )
    assert f"tg://user?id={ana['id']}" in post["text"]
    case = await _open_case(tg.chat, f"telegram:{worker['id']}")
    assert NOT_SAFE in case.marks


# -- WhatsApp ------------------------------------------------------------------------


def _media(api: GraphAPI, media_id: str, data: bytes, mime: str) -> None:
    api.media[media_id] = (data, mime)


async def test_whatsapp_captioned_photo_without_a_case_opens_a_critical_case(
    wa: Helpline,
) -> None:
    worker = "6281300000001"
    _media(wa.whatsapp, "IMG1", b"\xff\xd8 arm", "image/jpeg")
    await wa.says(msg(worker, "image", image={"id": "IMG1", "caption": "majikan pukul saya"}))
    case = await _open_case(wa.chat, f"whatsapp:{worker}")
    assert case.priority == "critical"
    media = await _timeline_has(wa.chat, case, "media")
    stored = await wa.chat.services.evidence.get(media[0]["media"]["ref"])
    assert stored is not None and stored.data == b"\xff\xd8 arm"


async def test_whatsapp_bare_location_and_absurd_coordinates(wa: Helpline) -> None:
    worker = "6281300000002"
    mark = await wa.says(msg(worker, "location", location={"latitude": 3.14, "longitude": 101.7}))
    await wa.whatsapp.wait_for(lambda b: b["to"] == worker and "danger:yes" in str(b), after=mark)
    odd = "6281300000003"
    # Coordinates that are not numbers: never a dead letter, still asked about.
    mark = await wa.says(msg(odd, "location", location={"latitude": "abc", "longitude": None}))
    await wa.whatsapp.wait_for(lambda b: b["to"] == odd and "danger:yes" in str(b), after=mark)
    assert await wa.chat.redis.xlen(wa.chat.helpline.keys.whatsapp_dead()) == 0
    waiting = await wa.chat.services.waiting.of(f"whatsapp:{odd}")
    assert waiting[0]["valid"] is False


async def test_whatsapp_voice_note_and_document_with_and_without_a_case(wa: Helpline) -> None:
    worker = "6281300000004"
    _media(wa.whatsapp, "AUD1", b"OggS", "audio/ogg")
    await wa.says(msg(worker, "audio", audio={"id": "AUD1"}))
    case = await _open_case(wa.chat, f"whatsapp:{worker}")
    assert LISTEN in case.marks
    _media(wa.whatsapp, "DOC1", b"%PDF", "application/pdf")
    await wa.says(msg(worker, "document", document={"id": "DOC1", "filename": "slip.pdf"}))
    await eventually(
        lambda: wa.chat.services.cases.timeline(case.id),
        lambda events: sum(e["kind"] == "media" for e in events) == 2,
        what="the voice note and the document on the case",
    )
    other = "6281300000005"
    _media(wa.whatsapp, "DOC2", b"%PDF", "application/pdf")
    await wa.says(msg(other, "document", document={"id": "DOC2", "filename": "kontrak.pdf"}))
    waiting = await eventually(
        lambda: wa.chat.services.waiting.of(f"whatsapp:{other}"),
        lambda found: len(found) == 1,
        what="the document kept for a case to come",
    )
    assert waiting[0]["media"]["name"] == "kontrak.pdf"
    assert await wa.chat.services.cases.of_sender(f"whatsapp:{other}") == []


async def test_whatsapp_media_that_cannot_be_fetched_or_is_too_large(wa: Helpline) -> None:
    worker = "6281300000006"
    # Unknown to the Graph API: the fetch fails; the caption is an emergency all the same.
    await wa.says(msg(worker, "image", image={"id": "MISSING", "caption": "tolong sy dipukul"}))
    case = await _open_case(wa.chat, f"whatsapp:{worker}")
    assert case.priority == "critical"
    media = await _timeline_has(wa.chat, case, "media")
    assert media[0]["media"]["problem"] == "not_fetched"
    big = "6281300000007"
    _media(wa.whatsapp, "BIG", b"x" * (LIMIT + 1), "audio/ogg")
    await wa.says(msg(big, "audio", audio={"id": "BIG"}))
    case = await _open_case(wa.chat, f"whatsapp:{big}")
    assert LISTEN in case.marks
    media = await _timeline_has(wa.chat, case, "media")
    assert media[0]["media"]["problem"] == "too_large"


async def test_whatsapp_text_still_works_after_all_that(wa: Helpline) -> None:
    worker = "6281300000008"
    mark = await wa.says(wa_text(worker, "halo"))
    await wa.whatsapp.wait_for(lambda b: b["to"] == worker, after=mark)
