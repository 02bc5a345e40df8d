"""A worker's first contact is short, and a question is answered before anything else
(issue 22), through the web chat API with a real Redis and the real Rasa server.

Before issue 22 a first question got a welcome, a privacy notice and a menu (or the
country question) in front of its answer - five bubbles, or an answer only after the
country was chosen - and a question that sounded like a grievance went straight into
the complaint intake.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.i18n import use_locale
from bot.store.cases import Priority
from flows.onboarding import privacy_notice, short_privacy_notice
from tests.chat import Chat, Worker

pytestmark = pytest.mark.rasa

MOST_BUBBLES = 3


def _payloads(reply: dict[str, Any]) -> list[str]:
    return [b["payload"] for b in reply["buttons"]]


def _asks_country(reply: dict[str, Any]) -> bool:
    return "country:hong_kong" in _payloads(reply)


def _welcome(replies: list[dict[str, Any]], locale: str) -> None:
    """The first bubble holds the welcome and the privacy notice, and nothing else does."""
    with use_locale(locale):
        notice = short_privacy_notice()
    assert notice in replies[0]["text"]
    assert not any(notice in r["text"] for r in replies[1:])


async def _session(chat: Chat, worker: Worker) -> Any:
    return await chat.services.sessions.load(worker.sender)


async def test_a_greeting_gets_the_welcome_in_one_message_then_the_country(chat: Chat) -> None:
    worker = await chat.new_worker()
    replies = await worker.say("halo")
    assert len(replies) == 2  # it was 3: welcome, privacy notice, country
    _welcome(replies, "id")
    assert replies[0]["buttons"] == []
    assert _asks_country(replies[1])
    assert "Kamu bekerja di negara mana" in replies[1]["text"]
    # The menu comes after the greeting, once the country is known.
    await worker.press("country:taiwan")
    assert "menu:rights" in worker.payloads()
    session = await _session(chat, worker)
    assert (session.locale, session.country, session.privacy_shown) == ("id", "taiwan", True)


async def test_a_question_in_indonesian_is_answered_first(chat: Chat) -> None:
    """It was five bubbles: welcome, privacy notice, the menu, the answer, "did it help?"."""
    worker = await chat.new_worker()
    replies = await worker.say("berapa gaji minimum di hong kong?")
    assert len(replies) <= MOST_BUBBLES
    _welcome(replies, "id")
    assert "HK$5.100" in replies[1]["text"] and "Sumber" in replies[1]["text"]
    assert _payloads(replies[-1]) == ["helped:yes", "helped:no", "human"]
    assert "menu:rights" not in worker.payloads()  # no menu in front of the answer
    assert not any(_asks_country(r) for r in replies)  # the country was in the question
    assert (await _session(chat, worker)).country == "hong_kong"


async def test_a_question_in_english_is_answered_first_then_the_country(chat: Chat) -> None:
    """Without a country: the general answer, then the question for the country, then
    the answer for that country (it used to ask the country before any answer)."""
    worker = await chat.new_worker()
    replies = await worker.say("how many rest days do I get every month?")
    assert len(replies) <= MOST_BUBBLES
    _welcome(replies, "en")
    answer = next(n for n, r in enumerate(replies) if "Source:" in r["text"])
    asks = next(n for n, r in enumerate(replies) if _asks_country(r))
    assert answer == 1 and asks > answer
    replies = await worker.press("country:singapore")
    assert any("Singapore" in r["text"] and "Source:" in r["text"] for r in replies)
    assert _payloads(replies[-1]) == ["helped:yes", "helped:no", "human"]
    assert (await _session(chat, worker)).country == "singapore"


@pytest.mark.parametrize(
    ("text", "country_known"),
    [
        ("tolong majikan sy mukul sy td malam, sy di hongkong", True),
        ("majikan sy mukul sy td malam, sy takut", False),
    ],
)
async def test_an_emergency_on_first_contact_gets_help_with_nothing_in_front(
    chat: Chat, text: str, country_known: bool
) -> None:
    """The safety rules stay: help first, no welcome or privacy notice before it (the
    notice comes with the next turn), "are you safe?" last; with the country unknown,
    the question for it rides on the numbers (it was a fourth bubble)."""
    worker = await chat.new_worker()
    replies = await worker.say(text)
    assert len(replies) <= MOST_BUBBLES
    first = replies[0]["text"]
    assert ("999" in first) if country_known else ("+62 21 2924 4800" in first)
    assert _asks_country(replies[0]) is not country_known
    assert _payloads(replies[-1]) == ["safe:yes", "safe:no"]
    with use_locale("id"):
        notices = (short_privacy_notice(), privacy_notice())
    assert not any(n in r["text"] for r in replies for n in notices)
    case = (await chat.services.cases.of_sender(worker.sender))[0]
    assert (case.category, case.priority) == ("emergency", Priority.CRITICAL.value)
    await worker.press("safe:yes")
    assert notices[1] in worker.texts()  # the notice, after the help


async def test_a_grievance_question_is_answered_then_offered_a_report(chat: Chat) -> None:
    worker = await chat.new_worker()
    replies = await worker.say("boleh gak majikan tahan paspor saya? sy di hongkong")
    assert len(replies) <= MOST_BUBBLES
    _welcome(replies, "id")
    assert "HKID" in replies[1]["text"]  # the answer for Hong Kong
    assert _payloads(replies[-1]) == ["report:yes", "report:no"]
    session = await _session(chat, worker)
    assert session.flow == "rights"  # not the complaint intake
    assert await chat.services.cases.of_sender(worker.sender) == []
    # "Yes" starts the intake, with the worker's words as the description.
    await worker.say("iya")
    session = await _session(chat, worker)
    assert (session.flow, session.data["against"]) == ("complaint", "employer")
    assert "paspor" in session.data["what"]
    assert "complaint:since:months" in worker.payloads()
    await worker.press("complaint:since:months")
    await worker.press("complaint:confirm")
    case = (await chat.services.cases.of_sender(worker.sender))[0]
    assert (case.category, case.intent, case.country) == (
        "complaint", "complaint_employer", "hong_kong",
    )  # fmt: skip


async def test_a_grievance_question_without_a_country_and_no_report(chat: Chat) -> None:
    """The English one: the general answer, the country, that country's answer, then the
    offer; "no" ends it with the menu and no case."""
    worker = await chat.new_worker()
    replies = await worker.say("my employer keeps my passport, is that allowed?")
    assert len(replies) <= MOST_BUBBLES
    _welcome(replies, "en")
    assert "passport" in replies[1]["text"] and "Source:" in replies[1]["text"]
    assert _asks_country(replies[2])
    replies = await worker.press("country:malaysia")
    assert "Passports Act 1966" in worker.texts()
    assert _payloads(replies[-1]) == ["report:yes", "report:no"]
    await worker.press("report:no")
    assert "menu:complaint" in worker.payloads()
    assert (await _session(chat, worker)).flow is None
    assert await chat.services.cases.of_sender(worker.sender) == []


async def test_a_complaint_put_as_a_question_is_answered_before_any_intake(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("halo")
    await worker.press("country:hong_kong")
    replies = await worker.say("majikan potong gaji saya tiap bulan, apakah boleh?")
    assert "Sumber" in replies[0]["text"]
    assert _payloads(replies[-1]) == ["report:yes", "report:no"]
    await worker.press("report:yes")
    session = await _session(chat, worker)
    assert session.flow == "complaint" and "gaji" in session.data["what"]


@pytest.mark.parametrize(
    ("text", "locale", "against"),
    [("saya mau lapor majikan", "id", "employer"), ("I want to report my agency", "en", "agency")],
)
async def test_a_stated_complaint_starts_the_intake_at_once(
    chat: Chat, text: str, locale: str, against: str
) -> None:
    worker = await chat.new_worker()
    replies = await worker.say(text)
    assert len(replies) == 2  # the welcome, then the intake's first question
    _welcome(replies, locale)
    assert "Source:" not in worker.texts() and "Sumber:" not in worker.texts()
    session = await _session(chat, worker)
    assert (session.flow, session.step, session.data["against"]) == ("complaint", "what", against)
    # The intake asks for the country the case needs, once, after the worker's story.
    await worker.say("they took 3 months of my salary and did not give it back")
    await worker.press("complaint:since:months")
    assert _asks_country(worker.last[-1])
    await worker.press("country:taiwan")
    assert "complaint:confirm" in worker.payloads()
    await worker.press("complaint:confirm")
    case = (await chat.services.cases.of_sender(worker.sender))[0]
    assert (case.category, case.country, case.details["against"]) == (
        "complaint", "taiwan", against,
    )  # fmt: skip
