"""Every flow end to end through the web chat API, with a real Redis and the real Rasa
server, in Indonesian and English. One readable transcript per flow."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.store.cases import Priority
from tests.chat import Chat, transcript
from tests.conftest import make_settings

pytestmark = pytest.mark.rasa


async def test_onboarding_in_indonesian(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: halo kak, selamat pagi
        # Welcome and privacy notice (in one message, tests/test_first_contact.py).
        bot: ~180
        bot: ~Kamu bekerja di negara mana
        bot: ? country:hong_kong
        bot: ? country:saudi_arabia
        press: country:taiwan
        bot: ~Taiwan
        bot: ? menu:rights
        """,
    )
    session = await chat.services.sessions.load(worker.sender)
    assert (session.locale, session.country, session.privacy_shown) == ("id", "taiwan", True)


async def test_onboarding_in_english_and_changing_language_and_country(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: hello, good morning
        bot: ~welcome
        bot: ~privacy
        bot: ? country:singapore
        press: country:singapore
        bot: ~Singapore
        press: settings:language
        bot: ? lang:id
        press: lang:id
        bot: ~Bahasa Indonesia
        press: settings:country
        bot: ? country:malaysia
        press: country:malaysia
        bot: ~Malaysia
        """,
    )
    session = await chat.services.sessions.load(worker.sender)
    assert (session.locale, session.locale_chosen, session.country) == ("id", True, "malaysia")


async def test_explicit_language_choice_beats_detection(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("hello")
    await worker.press("lang:id")
    await worker.say("what is the minimum wage in hong kong")
    session = await chat.services.sessions.load(worker.sender)
    assert session.locale == "id"


async def test_rights_question_in_indonesian(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: brp gaji minimum buat PRT di hongkong skrg?
        bot: ~180
        bot: ~HK$5.100
        bot: ~Sumber
        bot: ? helped:yes
        bot: ? human
        press: helped:yes
        bot: ~syukurlah
        """,
    )
    assert (await chat.services.sessions.load(worker.sender)).country == "hong_kong"


async def test_rights_question_in_english_is_answered_then_asks_the_country(chat: Chat) -> None:
    """Issue 22: the answer comes first (the general one), then the country for the
    rules there; it used to wait for the country."""
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: how many rest days do I get every month?
        bot: ~privacy
        bot: ~Source
        bot: ? country:singapore
        press: country:singapore
        bot: ~1 rest day every week
        bot: ~Source
        bot: ? helped:no
        press: helped:no
        bot: ? human
        """,
    )


async def test_emergency_in_indonesian_opens_a_critical_case(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: tolong majikan sy mukul sy td malam, sy di hongkong
        bot: ~999
        bot: ~KJRI
        bot: ~PMI-
        bot: ? safe:no
        press: safe:no
        bot: ~999
        """,
    )
    cases = await chat.services.cases.of_sender(worker.sender)
    assert len(cases) == 1
    case = cases[0]
    assert (case.category, case.priority, case.intent) == (
        "emergency", Priority.CRITICAL.value, "emergency_violence",
    )  # fmt: skip
    waiting = await chat.queue.waiting()
    assert [(e.escalation.case_id, e.escalation.kind) for e in waiting] == [(case.id, "emergency")]
    kinds = [e["kind"] for e in await chat.services.cases.timeline(case.id)]
    assert "worker_safety" in kinds


async def test_indirect_emergency_in_english(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: madam took my phone and passport and she locks the door when she goes out
        bot: ~safety
        bot: ? safe:yes
        press: safe:yes
        bot: ~stay in this chat
        """,
    )
    case = (await chat.services.cases.of_sender(worker.sender))[0]
    assert case.priority == Priority.CRITICAL.value


async def test_emergency_when_the_country_is_unknown_asks_for_it(chat: Chat) -> None:
    """Regression: the reply listed all five countries' numbers (some "not yet
    verified"); now the lines that work from anywhere, and a question for the country."""
    worker = await chat.new_worker()
    await worker.say("majikan sy mukul sy td malam, sy takut")
    text = worker.texts()
    assert "+62 21 2924 4800" in text  # KP2MI, from anywhere
    for other in ("999", "911", "110 / 119", "+852 6773 0466", "not yet verified"):
        assert other not in text
    assert "country:hong_kong" in worker.payloads()
    await worker.press("country:hong_kong")
    assert "999" in worker.texts()
    assert "911" not in worker.texts()
    assert worker.payloads()[-2:] == ["safe:yes", "safe:no"]


async def test_complaint_intake_in_indonesian(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: halo
        press: country:malaysia
        worker: gaji sy blm dibayar 3 bulan sm majikan
        bot: ~sejak kapan
        bot: ? complaint:since:months
        press: complaint:since:months
        bot: ~majikan
        bot: ? complaint:confirm
        press: complaint:confirm
        bot: ~PMI-
        """,
    )
    case = (await chat.services.cases.of_sender(worker.sender))[0]
    assert (case.category, case.details["against"], case.country) == (
        "complaint", "employer", "malaysia",
    )  # fmt: skip
    assert "gaji" in case.summary


async def test_complaint_intake_in_english_asks_only_what_is_missing(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: hi
        press: country:taiwan
        worker: I want to report a problem
        bot: ~who is the complaint against
        press: complaint:against:agency
        bot: ~what happened
        worker: they cut 5000 from my salary every month since last year
        bot: ~since when
        worker: since march last year
        bot: ~shall i open a case
        press: complaint:confirm
        bot: ~case number
        """,
    )


async def test_case_status_in_both_languages(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("halo")
    await worker.press("country:hong_kong")
    await transcript(
        worker,
        """
        worker: gmn status kasus sy?
        bot: ~belum punya kasus
        worker: sy mau ngomong sama petugas
        bot: ~PMI-
        worker: gmn status kasus sy?
        bot: ~PMI-
        bot: ~menunggu
        press: lang:en
        press: cases
        bot: ~waiting for an operator
        """,
    )


async def test_talk_to_a_person_in_the_middle_of_a_complaint(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: hello
        press: country:singapore
        press: menu:complaint
        bot: ~who is the complaint against
        worker: can I talk to a real person please
        bot: ~number 1 in the queue
        """,
    )
    session = await chat.services.sessions.load(worker.sender)
    assert session.flow is None and session.case_id is not None
    waiting = await chat.queue.waiting()
    assert [e.escalation.kind for e in waiting] == ["human"]


async def test_greetings_thanks_goodbye_and_out_of_scope(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: assalamualaikum kak
        press: country:hong_kong
        worker: makasih ya kak
        bot: ~sama-sama
        worker: tolong kirim resep rendang dong
        bot: ~hanya bisa membantu
        bot: ? menu:rights
        worker: dadah, sampai jumpa
        bot: ~jaga diri
        """,
    )


async def test_delete_my_data(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("hello")
    await worker.press("country:hong_kong")
    await worker.say("I want to talk to a person")
    case_id = (await chat.services.cases.of_sender(worker.sender))[0].id
    await transcript(
        worker,
        """
        press: privacy
        bot: ? delete
        press: delete
        bot: ~erase now
        press: delete:confirm
        bot: ~erased
        """,
    )
    assert worker.last[-1].get("event") == "erased"  # the page clears its screen on it
    assert await chat.redis.get(f"{chat.services.sessions._keys.session(worker.sender)}") is None
    assert await chat.services.cases.of_sender(worker.sender) == []
    case = await chat.services.cases.get(case_id)
    assert case is not None and case.sender is None and case.summary == ""
    # The conversation is gone, and its token with it: nobody can read or add to it.
    async with await worker.post({"text": "halo", "client_message_id": "after"}) as response:
        assert response.status == 401
    fresh = await chat.new_worker()
    await fresh.say("halo")
    assert "180" in fresh.texts()  # a fresh start: the privacy notice again


async def test_unknown_button_payload_gets_the_menu(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("hello")
    await worker.send({"payload": "no-such-button:42", "text": "??"})
    assert "no longer valid" in worker.texts()
    assert "menu:rights" in worker.payloads()


async def test_stale_complaint_button_after_the_flow_ended(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("hello")
    await worker.send({"payload": "complaint:confirm", "text": "Yes"})
    assert "no longer valid" in worker.texts()
    assert await chat.services.cases.of_sender(worker.sender) == []


async def test_talk_to_a_person_in_indonesian(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: halo kak
        press: country:malaysia
        worker: sy mau ngomong sama petugas aja
        bot: ~urutan ke-1 dalam antrean
        """,
    )
    assert [e.escalation.kind for e in await chat.queue.waiting()] == ["human"]


async def test_greetings_and_out_of_scope_in_english(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: good morning
        press: country:singapore
        worker: thank you so much
        bot: ~you are welcome
        worker: can you send me a recipe for fried rice
        bot: ~I can only help with work and rights
        bot: ? human
        worker: bye bye, take care
        bot: ~take care
        """,
    )


async def test_delete_my_data_in_indonesian(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("halo kak")
    await worker.press("country:taiwan")
    await transcript(
        worker,
        """
        worker: tolong hapus data saya
        bot: ? delete:confirm
        press: delete:cancel
        bot: ~tidak ada yang dihapus
        worker: hapus data sy semua
        press: delete:confirm
        bot: ~sudah dihapus
        """,
    )
    assert (await chat.services.sessions.load(worker.sender)).privacy_shown is False


async def test_outside_staffed_hours_the_worker_is_told_and_gets_the_numbers(
    redis_url: str, rasa_url: str, key_prefix: str
) -> None:
    now = dt.datetime.now(dt.UTC)
    later = f"{now + dt.timedelta(hours=2):%H:%M}-{now + dt.timedelta(hours=3):%H:%M}"
    settings = make_settings(redis_url, rasa_url, key_prefix, staffed_hours=later, timezone="UTC")
    async with Chat.serve(settings) as chat:
        worker = await chat.new_worker()
        await transcript(
            worker,
            """
            worker: hello
            press: country:hong_kong
            worker: I want to talk to a person
            bot: ~not on duty now
            bot: ~999
            bot: !number 1 in the queue
            """,
        )
        other = await chat.new_worker()
        await transcript(
            other,
            """
            worker: help, my employer is beating me, I am in hong kong
            bot: ~999
            bot: ~not on duty right now
            bot: ? safe:yes
            """,
        )
        # The escalations are on the queue all the same, for when the team is back.
        assert len(await chat.queue.waiting()) == 2


async def test_the_worker_is_told_who_is_online_and_how_long_people_waited(chat: Chat) -> None:
    for name in ("ana", "budi"):
        await chat.console.presence.seen(name)
    key = chat.helpline.keys.escalation_waits()
    await chat.redis.rpush(key, 240, 300, 360)
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: hi
        press: country:taiwan
        worker: can I talk to a real person please
        bot: ~2 people from our team are online now
        bot: ~waited about 5 minutes
        """,
    )
