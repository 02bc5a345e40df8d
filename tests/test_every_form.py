"""Every emergency reaches a person, whatever form it takes - through the web chat API,
with the real Redis and the real Rasa server: captions, files, voice notes and location
pins with and without an open case; "I am not safe"; self-harm; the emergency reply
itself; waiting for a person; erase and "stop" while an operator has the conversation;
the code word; waiting limits; and the faults that once left an emergency unqueued."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.casework import Conflict
from bot.messages import Inbound
from bot.nlu.client import NLUClient, split_token, with_token
from bot.nlu.safety import CrisisLexicon
from bot.store.cases import (
    DETECTED_LATE,
    LISTEN,
    LOCATION_ONLY,
    NOT_SAFE,
    SELF_HARM,
    WATCHED,
    Case,
    Priority,
)
from bot.store.users import Role, User
from tests.chat import Chat, Worker
from tests.conftest import make_settings
from tests.console import Operator
from tests.eventually import eventually
from tests.switch import switch_to

pytestmark = pytest.mark.rasa

JPEG = b"\xff\xd8\xff\xe0 a photo of a bruised arm"
CODE_WORD = "pesan bunga mawar"
OPERATOR = User("ana", Role.OPERATOR.value, "Ana", "x")


@pytest.fixture
async def quick(redis_url: str, rasa_url: str, key_prefix: str) -> AsyncIterator[Chat]:
    """The helpline with short timers: location pins, "not safe", waiting limits."""
    settings = make_settings(
        redis_url,
        rasa_url,
        key_prefix,
        queue_watch_seconds=0.1,
        location_answer_seconds=0.8,
        not_safe_supervisor_seconds=0.8,
        human_wait_minutes=0.02,
        code_words=(CODE_WORD, "order roses"),
    )
    async with Chat.serve(settings) as chat:
        yield chat


async def _case(chat: Chat, worker: Worker) -> Case:
    case = await chat.services.cases.open_case_of(worker.sender)
    assert case is not None, "no open case"
    return case


async def _timeline(chat: Chat, case: Case) -> list[dict[str, Any]]:
    return await chat.services.cases.timeline(case.id)


async def _queued(chat: Chat) -> dict[str, Any]:
    return {e.escalation.case_id: e.escalation for e in await chat.queue.entries()}


# -- captions, files and voice notes ---------------------------------------------------


async def test_an_emergency_caption_on_a_photo_opens_a_critical_case_with_the_photo(
    chat: Chat,
) -> None:
    """Regression: a captioned photo got "Tell me in words"; the caption went unread."""
    worker = await chat.new_worker()
    await worker.upload(JPEG, caption="majikan pukul saya, ini tangan sy. sy di hongkong")
    assert "999" in worker.texts()
    case = await _case(chat, worker)
    assert (case.priority, case.category) == ("critical", "emergency")
    media = [e for e in await _timeline(chat, case) if e["kind"] == "media"]
    assert len(media) == 1 and media[0]["text"].startswith("majikan pukul saya")
    stored = await chat.services.evidence.get(media[0]["media"]["ref"])
    assert stored is not None and stored.data == JPEG
    assert case.id in await _queued(chat)


async def test_a_photo_without_words_is_kept_until_a_case_opens(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.upload(JPEG, filename="contract.jpg")
    assert "simpan" in worker.texts()  # "kept safely"
    assert "human" in worker.payloads()
    assert await chat.services.cases.of_sender(worker.sender) == []
    await worker.upload(b"%PDF-1.4 contract", filename="kontrak.pdf", mime="application/pdf")
    await worker.say("sy mau bicara dengan petugas")
    case = await _case(chat, worker)
    files = [e["media"] for e in await _timeline(chat, case) if e["kind"] == "media"]
    assert [(f["kind"], f["name"]) for f in files] == [
        ("image", "contract.jpg"),
        ("document", "kontrak.pdf"),
    ]
    # Attached to a case, the files are kept for as long as case evidence.
    ttl = await chat.redis.ttl(chat.helpline.keys.evidence(files[0]["ref"]))
    assert ttl > 300 * 86400
    assert await chat.services.waiting.of(worker.sender) == []


async def test_a_captioned_document_with_a_rights_question_is_answered(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("halo")
    await worker.press("country:hong_kong")
    await worker.upload(
        b"%PDF contract", filename="kontrak.pdf", mime="application/pdf",
        caption="ini kontrak sy, brp gaji minimum PRT di hongkong?",
    )  # fmt: skip
    assert "HK$" in worker.texts()
    assert await chat.services.cases.of_sender(worker.sender) == []


async def test_a_voice_note_is_put_in_front_of_a_person_to_listen(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.upload(b"OggS voice", filename="voice.ogg", mime="audio/ogg")
    assert "PMI-" in worker.texts() and "dengar" in worker.texts()  # "listen"
    case = await _case(chat, worker)
    assert case.priority == Priority.HIGH.value and LISTEN in case.marks
    queued = await _queued(chat)
    assert queued[case.id].kind == "listen"
    audio = [e for e in await _timeline(chat, case) if e["kind"] == "media"]
    assert audio[0]["media"]["kind"] == "audio" and audio[0]["media"]["ref"]


async def test_files_and_pins_with_an_open_case_go_to_it(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("sy mau bicara dengan petugas, sy di taiwan")
    case = await _case(chat, worker)
    await worker.upload(JPEG)
    assert case.id in worker.texts()
    await worker.upload(b"%PDF", filename="slip.pdf", mime="application/pdf")
    await worker.share_location(25.03, 121.56)
    await worker.upload(b"OggS", filename="v.ogg", mime="audio/ogg")
    kinds = [e["kind"] for e in await _timeline(chat, case)]
    assert kinds.count("media") == 3 and kinds.count("location") == 1
    assert [c.id for c in await chat.services.cases.of_sender(worker.sender)] == [case.id]
    # Nobody has the case yet: the voice note makes sure a person will listen.
    reloaded = await chat.services.cases.get(case.id)
    assert reloaded is not None and LISTEN in reloaded.marks


async def test_an_oversized_file_is_refused_before_it_is_stored(chat: Chat) -> None:
    worker = await chat.new_worker()
    limit = chat.helpline.settings.media_max_bytes
    await worker.upload(b"x" * (limit + 1), status=413)
    assert await chat.services.cases.of_sender(worker.sender) == []


# -- location pins -------------------------------------------------------------------


async def test_a_bare_location_asks_are_you_in_danger_and_yes_opens_a_critical_case(
    chat: Chat,
) -> None:
    worker = await chat.new_worker()
    await worker.share_location(22.28, 114.16)
    assert worker.payloads() == ["danger:yes", "danger:no"]
    await worker.press("danger:yes")
    case = await _case(chat, worker)
    assert case.priority == "critical"
    pins = [e for e in await _timeline(chat, case) if e["kind"] == "location"]
    assert pins[0]["location"] == {"latitude": 22.28, "longitude": 114.16}
    assert worker.payloads()[-2:] == ["safe:yes", "safe:no"]


async def test_a_location_nobody_answers_reaches_an_operator_anyway(quick: Chat) -> None:
    worker = await quick.new_worker()
    await worker.share_location(3.14, 101.69)
    case = await eventually(
        lambda: quick.services.cases.open_case_of(worker.sender),
        lambda found: found is not None,
        what="the unanswered pin opens a case",
    )
    assert case is not None
    assert case.priority == Priority.NORMAL.value and LOCATION_ONLY in case.marks
    assert (await _queued(quick))[case.id].kind == "location"
    pins = [e for e in await _timeline(quick, case) if e["kind"] == "location"]
    assert pins[0]["location"] == {"latitude": 3.14, "longitude": 101.69}
    # The worker is told, in the conversation's own stream.
    await worker.until(lambda seen: any(case.id in m.get("text", "") for m in seen))


async def test_no_answers_no_second_case_from_the_timer(quick: Chat) -> None:
    worker = await quick.new_worker()
    await worker.share_location(3.14, 101.69)
    await worker.press("danger:no")
    # Silence: past the 0.8 s pin timer and a followups tick, no case may have opened.
    await asyncio.sleep(1.2)
    assert await quick.services.cases.of_sender(worker.sender) == []
    # The pin is still kept for a case to come.
    assert [e["kind"] for e in await quick.services.waiting.of(worker.sender)] == ["location"]


async def test_a_location_off_the_globe_is_kept_marked_and_still_asked_about(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.share_location(999.5, "north")
    assert "danger:yes" in worker.payloads()
    await worker.press("danger:yes")
    case = await _case(chat, worker)
    pin = next(e for e in await _timeline(chat, case) if e["kind"] == "location")
    assert pin["valid"] is False and pin["location"] == {"latitude": 999.5, "longitude": None}
    operator = await Operator.signed_in(chat, "ida")
    try:
        page = (await operator.get(f"/console/cases/{case.id}"))[1]
        assert "cannot be read" in page
    finally:
        await operator.close()


# -- the emergency conversation --------------------------------------------------------


async def test_the_emergency_reply_gives_help_first_and_asks_are_you_safe_last(
    chat: Chat,
) -> None:
    worker = await chat.new_worker()
    replies = await worker.say("tolong majikan sy mukul sy td malam, sy di hongkong")
    texts = [r["text"] for r in replies]
    assert "999" in texts[0] and "+852 6773 0466" in texts[0]
    for other_country in ("911", "110 / 119", "+65", "belum diverifikasi", "not yet verified"):
        assert other_country not in "\n".join(texts)
    assert not any("antrean" in t and "nomor" in t for t in texts)  # no queue rank
    assert [b["payload"] for b in replies[-1]["buttons"]] == ["safe:yes", "safe:no"]
    assert not any("Privasi" in t for t in texts)  # never before help
    await worker.press("safe:yes")
    assert "Privasi" in worker.texts()  # the next turn brings it


async def test_not_safe_is_announced_again_at_once_and_goes_to_supervisors(quick: Chat) -> None:
    supervisor = await Operator.signed_in(quick, "sri", Role.SUPERVISOR)
    try:
        async with supervisor.watching() as live:
            worker = await quick.new_worker()
            await worker.say("tolong majikan sy mukul sy td malam, sy di singapore")
            case = await _case(quick, worker)
            await worker.press("safe:no")
            announced = await live.wait_for(
                lambda e: e.get("outcome") == "announced" and e.get("reason") == "not_safe"
            )
            assert announced["case_id"] == case.id and "sender" not in announced
            reloaded = await quick.services.cases.get(case.id)
            assert reloaded is not None and NOT_SAFE in reloaded.marks
            await live.wait_for(
                lambda e: e.get("type") == "supervisor" and e.get("reason") == "not_safe"
            )
            page = (await supervisor.get(f"/console/cases/{case.id}"))[1]
            assert "worker says NOT SAFE" in page
    finally:
        await supervisor.close()


async def test_self_harm_gets_its_own_words_and_the_operator_a_checklist(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("sy udh gk kuat, pengen bunuh diri aja. sy di singapore")
    text = worker.texts()
    assert "1767" in text  # Samaritans of Singapore
    assert "sendirian" in text  # "you are not alone"
    assert "polisi" not in text.split("1767")[0]  # the crisis line comes first
    case = await _case(chat, worker)
    assert SELF_HARM in case.marks and case.priority == "critical"
    operator = await Operator.signed_in(chat, "ida")
    try:
        page = (await operator.get(f"/console/cases/{case.id}"))[1]
        assert 'id="self-harm-checklist"' in page and "mhGAP" in page and "1767" in page
    finally:
        await operator.close()


# -- waiting for a person -------------------------------------------------------------


async def test_a_worker_waiting_for_a_person_is_told_so_never_the_menu(chat: Chat) -> None:
    """Regression: "halo kak?? ada org ga" while waiting got the whole menu again."""
    worker = await chat.new_worker()
    await worker.say("halo")
    await worker.press("country:malaysia")
    await worker.press("human")
    case = await _case(chat, worker)
    await worker.say("halo kak?? ada org ga")
    assert "antrean" in worker.texts() and case.id in worker.texts()
    assert "menu:rights" not in worker.payloads()
    await worker.say("kak tolong balas")
    assert worker.last == []  # told a moment ago: not again for a few minutes
    words = [e.get("text") for e in await _timeline(chat, case) if e["kind"] == "worker_message"]
    assert "halo kak?? ada org ga" in words and "kak tolong balas" in words


async def test_waiting_too_long_is_announced_again_and_raised_to_supervisors(
    quick: Chat,
) -> None:
    supervisor = await Operator.signed_in(quick, "sri", Role.SUPERVISOR)
    try:
        async with supervisor.watching() as live:
            worker = await quick.new_worker()
            await worker.say("I want to talk to a person")
            case = await _case(quick, worker)
            again = await live.wait_for(
                lambda e: e.get("outcome") == "announced" and e.get("case_id") == case.id,
                seconds=10,
            )
            assert again["reason"] == "waiting_limit"
            await live.wait_for(
                lambda e: e.get("type") == "supervisor" and e.get("case_id") == case.id
            )
    finally:
        await supervisor.close()


# -- while an operator has the conversation ------------------------------------------


async def test_erasing_while_an_operator_has_the_conversation(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("tolong majikan sy mukul sy, sy di hongkong")
    case = await _case(chat, worker)
    await chat.casework.claim(case.id, OPERATOR)
    await worker.say("hapus data saya")
    assert "delete:confirm" in worker.payloads()  # the bot answers, not the operator
    await worker.press("delete:confirm")
    assert worker.last[-1]["event"] == "erased"
    erased = await chat.services.cases.get(case.id)
    assert erased is not None and erased.sender is None
    kinds = [e["kind"] for e in await _timeline(chat, erased)]
    assert kinds == ["worker_data_erased"]
    assert case.id not in await _queued(chat)
    operator = await Operator.signed_in(chat, "sup2", Role.SUPERVISOR)
    try:
        page = (await operator.get(f"/console/cases/{case.id}"))[1]
        assert "erased their data" in page
    finally:
        await operator.close()


async def test_stop_while_an_operator_has_the_conversation(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("I want to talk to a person")
    case = await _case(chat, worker)
    await chat.casework.claim(case.id, OPERATOR)
    await worker.say("stop")
    assert "will not write to you" in worker.texts()
    with pytest.raises(Conflict, match=r"stop writing|berhenti menulis"):
        await chat.casework.reply(case.id, OPERATOR, "Halo?")
    await worker.say("ok I can talk now")
    await chat.casework.reply(case.id, OPERATOR, "Thank you, I am here.")


async def test_files_sent_to_an_operator_reach_the_case(chat: Chat) -> None:
    """Regression: in an operator-owned conversation a photo was dropped (only text went)."""
    worker = await chat.new_worker()
    await worker.say("I want to talk to a person")
    case = await _case(chat, worker)
    await chat.casework.claim(case.id, OPERATOR)
    await worker.upload(JPEG)
    assert worker.last == []  # the bot stays silent
    media = [e for e in await _timeline(chat, case) if e["kind"] == "media"]
    assert media and media[0]["to"] == "operator:ana"


# -- the code word --------------------------------------------------------------------


async def test_the_code_word_gets_a_harmless_answer_and_a_critical_case(quick: Chat) -> None:
    operator = await Operator.signed_in(quick, "ida")
    try:
        async with operator.watching() as live:
            worker = await quick.new_worker()
            await worker.say("Kak, mau Pesan bunga mawar 2 ya")
            text = worker.texts()
            assert "PMI-" not in text and "999" not in text and "darurat" not in text.lower()
            case = await _case(quick, worker)
            assert case.priority == "critical" and WATCHED in case.marks
            event = await live.wait_for(
                lambda e: e.get("type") == "escalation" and e.get("case_id") == case.id
            )
            assert "watched" in event["marks"]
            page = (await operator.get(f"/console/cases/{case.id}"))[1]
            assert "write neutrally" in page
            # Claiming says nothing to the worker that would name the helpline.
            mark = len(await quick.services.outbox.read(worker.sender))
            await quick.casework.claim(case.id, OPERATOR)
            assert len(await quick.services.outbox.read(worker.sender)) == mark
    finally:
        await operator.close()


# -- faults ----------------------------------------------------------------------------


async def test_an_emergency_redelivered_after_a_crash_opens_one_case_on_the_queue(
    chat: Chat,
) -> None:
    """Regression: a crash between opening the case and queueing it, then the retry,
    left an emergency case that nobody was told about."""
    dispatcher = chat.helpline.dispatcher
    inbound = Inbound("webchat", "crash-1", "m-1", "tolong majikan sy mukul sy td malam")
    await dispatcher.handle(inbound)
    await dispatcher.handle(inbound)  # the inbox hands it out again after the crash
    cases = await chat.services.cases.of_sender(inbound.sender)
    assert len(cases) == 1
    entries = [e for e in await chat.queue.entries() if e.escalation.case_id == cases[0].id]
    assert len(entries) == 1


async def test_an_open_emergency_with_nobody_and_no_queue_entry_is_put_back(
    quick: Chat,
) -> None:
    """What a crash of the old two-step opening left behind is found and announced."""
    case = await quick.services.cases.open(
        sender="webchat:orphan",
        category="emergency",
        intent="emergency_violence",
        priority=Priority.CRITICAL,
        country="hong_kong",
        locale="id",
        summary="majikan pukul saya",
    )
    assert case.id not in await _queued(quick)
    await eventually(
        lambda: _queued(quick), lambda queued: case.id in queued, what="put back on the queue"
    )
    kinds = [e["kind"] for e in await _timeline(quick, case)]
    assert "requeued" in kinds


async def test_a_confirmed_complaint_retried_after_a_crash_opens_one_case(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("halo")
    await worker.press("country:malaysia")
    await worker.say("gaji sy blm dibayar 3 bulan sm majikan")
    await worker.press("complaint:since:months")
    session = await chat.services.sessions.load(worker.sender)
    dispatcher = chat.helpline.dispatcher
    confirm = Inbound("webchat", worker.conversation_id, "confirm-1", "Ya", "complaint:confirm")
    await dispatcher.handle(confirm)
    # The crash came before the session was saved: the retry finds the flow as it was.
    await chat.services.sessions.save(session)
    await dispatcher.handle(confirm)
    complaints = [
        c for c in await chat.services.cases.of_sender(worker.sender) if c.category == "complaint"
    ]
    assert len(complaints) == 1


async def test_a_message_read_while_rasa_was_down_is_read_again_when_it_is_back(
    redis_url: str, rasa_url: str, key_prefix: str, lexicon: CrisisLexicon
) -> None:
    """When Rasa is down only the lexicon decides; what it missed is read again later."""
    text = (
        "majikan tdk kasih sy pulang, paspor ditahan, gaji 8 bulan gk dibayar, sy gk bisa kemana2"
    )
    assert not lexicon.match(text), "pick a message the lexicon alone misses"
    async with NLUClient(rasa_url) as nlu:
        assert (await nlu.classify(text)).emergency, "the model must read it as an emergency"
    async with switch_to(rasa_url) as switch:
        _url, token = split_token(rasa_url)
        through = with_token(switch.url, token) if token else switch.url
        settings = make_settings(
            redis_url, through, key_prefix, queue_watch_seconds=0.1, nlu_recheck_seconds=0.2
        )
        async with Chat.serve(settings) as chat:
            switch.cut()
            worker = await chat.new_worker()
            await worker.say(text)
            assert await chat.services.cases.of_sender(worker.sender) == []
            switch.restore()
            case = await eventually(
                lambda: chat.services.cases.open_case_of(worker.sender),
                lambda found: found is not None,
                what="the message read again opens a case",
                seconds=15,
            )
            assert case is not None
            assert case.priority == "critical" and DETECTED_LATE in case.marks
            assert case.id in await _queued(chat)
            await worker.until(
                lambda seen: any("masalah teknis" in m.get("text", "") for m in seen)
            )
