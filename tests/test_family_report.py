"""A family member at home reports a worker they cannot reach (flows/family.py), end to end
through the web chat with a real Redis and the real Rasa server: the case our team gets,
what the queue shows of it, and what the family is told."""

from __future__ import annotations

import pytest

from bot.store.users import Role
from tests.chat import Chat, Worker, transcript
from tests.console import Operator

pytestmark = pytest.mark.rasa

NAME = "Siti Aminah binti Karto, paspor C1234567"


async def family_member(chat: Chat) -> Worker:
    """Someone past the welcome who opens "For families" from the menu."""
    person = await chat.new_worker()
    await person.say("halo")
    await person.press("country:other")
    replies = await person.press("topic:families")
    assert "family:start" in [b["payload"] for r in replies for b in r["buttons"]]
    return person


async def test_a_family_member_reports_a_worker_they_cannot_reach(chat: Chat) -> None:
    person = await family_member(chat)
    await transcript(
        person,
        f"""
        press: family:start
        worker: {NAME}
        press: family:country:taiwan
        worker: di Taichung, jaga nenek, majikan namanya Pak Lin, PT Maju Jaya Semarang
        press: family:last:months
        press: family:danger:no
        press: family:confirm
        """,
    )
    [case] = await chat.services.cases.of_sender(person.sender)
    assert (case.intent, case.category, case.priority, case.country) == (
        "family_report",
        "other",
        "high",
        "taiwan",
    )
    # The queue and the operators' group get a summary without the worker's name.
    entry = await chat.queue.find(case.id)
    assert entry is not None and entry.escalation.kind == "human"
    assert "Siti" not in entry.escalation.summary and "Siti" not in case.summary
    [report] = [
        e for e in await chat.services.cases.timeline(case.id) if e["kind"] == "family_report"
    ]
    assert (report["who"], report["country"], report["last"], report["danger"]) == (
        NAME,
        "taiwan",
        "months",
        "no",
    )
    assert "Pak Lin" in report["where"]
    # The family is told the case number, and whom else to call in Taiwan and at home.
    said = person.texts()
    taiwan = chat.services.kb.referral("taiwan")
    assert taiwan is not None
    assert case.id in said and taiwan.embassy_hotline in said
    assert chat.services.kb.figures["kp2mi_call_center_toll_free"].value in said
    session = await chat.services.sessions.load(person.sender)
    assert session.flow is None and session.data == {}
    # The operator sees what the family told, on the case page.
    operator = await Operator.signed_in(chat, "sari", Role.OPERATOR)
    try:
        status, page = await operator.get(f"/console/cases/{case.id}")
        assert status == 200
        assert "A family member reports a worker they cannot reach" in page
        assert "Siti Aminah binti Karto" in page and "PT Maju Jaya" in page
    finally:
        await operator.close()


async def test_worrying_signs_put_it_in_front_of_a_person_as_an_emergency(chat: Chat) -> None:
    person = await family_member(chat)
    await transcript(
        person,
        """
        press: family:start
        worker: Rina Wulandari
        press: family:country:malaysia
        worker: gk tau, cuma tau di Johor
        press: family:last:month
        press: family:danger:yes
        press: family:confirm
        """,
    )
    [case] = await chat.services.cases.of_sender(person.sender)
    assert (case.category, case.priority, case.country) == ("emergency", "critical", "malaysia")
    entry = await chat.queue.find(case.id)
    assert entry is not None and entry.escalation.kind == "emergency"
    malaysia = chat.services.kb.referral("malaysia")
    assert malaysia is not None and malaysia.emergency_number in person.texts()


async def test_typed_answers_are_read_and_cancel_keeps_nothing(chat: Chat) -> None:
    person = await family_member(chat)
    await person.press("family:start")
    await person.say("Dewi Lestari")
    await person.say("adik sy kerja di korsel")
    session = await chat.services.sessions.load(person.sender)
    assert (session.flow, session.step) == ("family", "where")
    assert session.data["country"] == "south_korea"
    await person.say("pabrik di Ansan")
    await person.say("udah 3 minggu gk ada kabar")
    assert (await chat.services.sessions.load(person.sender)).data["last"] == (
        "udah 3 minggu gk ada kabar"
    )
    await person.say("batal")
    session = await chat.services.sessions.load(person.sender)
    assert session.flow is None and session.data == {}
    assert await chat.services.cases.of_sender(person.sender) == []


async def test_a_finished_reports_buttons_start_a_new_one_not_a_second_case(chat: Chat) -> None:
    person = await family_member(chat)
    steps = [
        "family:start",
        "Ahmad",
        "family:country:japan",
        "Osaka, pabrik",
        "family:last:week",
        "family:danger:unsure",
        "family:confirm",
    ]
    for step in steps:
        await (person.press(step) if step.startswith("family:") else person.say(step))
    [case] = await chat.services.cases.of_sender(person.sender)
    assert case.priority == "high"
    replies = await person.press("family:confirm")
    assert len(await chat.services.cases.of_sender(person.sender)) == 1
    assert "family:cancel" in [b["payload"] for r in replies for b in r["buttons"]]


async def test_danger_told_in_an_answer_still_reaches_a_person_at_once(chat: Chat) -> None:
    """The family's answers are held to the short-answer bar (a name or "gk tau, di Johor"
    is no emergency), but danger in their words is heard as anywhere else."""
    person = await family_member(chat)
    await person.press("family:start")
    await person.say("Rina")
    await person.press("family:country:hong_kong")
    await person.say("kata temennya dia dikurung majikan, hp nya diambil, gak boleh keluar rumah")
    [case] = await chat.services.cases.of_sender(person.sender)
    assert (case.category, case.priority) == ("emergency", "critical")
    entry = await chat.queue.find(case.id)
    assert entry is not None and entry.escalation.kind == "emergency"


async def test_the_case_is_in_the_workers_country_not_the_family_members(chat: Chat) -> None:
    """Someone who set Hong Kong as their own country reports a worker whose country
    they do not know: the case's country is not known, not Hong Kong."""
    person = await chat.new_worker()
    await person.say("halo")
    await person.press("country:hong_kong")
    for step in ("family:start", "Yanti", "family:country:other", "gk tau"):
        await (person.press(step) if step.startswith("family:") else person.say(step))
    for step in ("family:last:year", "family:danger:no", "family:confirm"):
        await person.press(step)
    [case] = await chat.services.cases.of_sender(person.sender)
    assert case.country is None
    # The cancel button of the finished report undoes nothing and starts nothing.
    replies = await person.press("family:cancel")
    assert [b["payload"] for r in replies for b in r["buttons"]] == ["menu"]
    assert (await chat.services.sessions.load(person.sender)).flow is None
