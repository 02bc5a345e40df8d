"""The rights calculator as a conversation (flows/calculator.py), end to end through the web
chat with a real Redis and the real Rasa server. The amounts the worker is shown are the
engine's (bot/calculator.py) for the same claim, worked out here with the figures of
kb/figures.yml - never written down in the test."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bot.calculator import (
    Claim,
    Result,
    Sector,
    calculate,
    load_calculator_figures,
    load_rules,
)
from bot.kb import SCREEN_CHARS, fill_money
from bot.store.users import Role
from flows.calculator import LINE_NAMES, REASONS
from flows.calculator_input import amount_of, count_of
from tests.chat import Chat, Worker, transcript
from tests.console import Operator

pytestmark = pytest.mark.rasa


def expected(**claim: Any) -> Result:
    return calculate(Claim(**claim), load_calculator_figures(), load_rules())


def money(amount: Decimal | int | str, currency: str, lang: str) -> str:
    return fill_money(f"{{money:{currency}:{Decimal(amount):f}}}", lang)


async def worker_in(chat: Chat, country: str | None, greeting: str = "hello") -> Worker:
    """A worker past the welcome (in the language of ``greeting``), in ``country``."""
    worker = await chat.new_worker()
    await worker.say(greeting)
    if country is not None:
        await worker.press(f"country:{country}")
    return worker


async def said_while(worker: Worker, steps: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Plays ("say"|"press", what) steps; every reply of them, in order."""
    replies: list[dict[str, Any]] = []
    for how, what in steps:
        replies += await (worker.say(what) if how == "say" else worker.press(what))
    return replies


def shows(result: Result, text: str, lang: str) -> None:
    """Every line's amount and rule, and the total, are in the text the worker got."""
    for line in result.lines:
        assert money(line.amount, line.currency, lang) in text, (line, text)
        assert line.rule.law in text and line.rule.section in text, (line.rule, text)
    assert money(result.total, result.currency, lang) in text, (result.total, text)


def fits_a_screen(replies: list[dict[str, Any]]) -> None:
    assert all(len(r["text"]) <= SCREEN_CHARS for r in replies), [len(r["text"]) for r in replies]


HONG_KONG_CLAIM = {
    "country": "hong_kong",
    "sector": Sector.DOMESTIC,
    "monthly_wage": Decimal(4500),
    "months_worked": 6,
    "months_unpaid": 2,
    "holidays_worked": 3,
    "free_food": False,
}


async def test_a_hong_kong_domestic_worker_is_shown_what_the_engine_computes(chat: Chat) -> None:
    worker = await worker_in(chat, "hong_kong")
    await worker.press("topics:work")
    assert "calc" in worker.payloads()
    await transcript(
        worker,
        """
        press: calc
        bot: ~one at a time
        bot: ? calc:sector:domestic
        press: calc:sector:domestic
        bot: ~HK$
        bot: ? calc:cancel
        """,
    )
    replies = await said_while(
        worker,
        [
            ("say", "HK$4,500"),
            ("say", "6"),
            ("press", "calc:unpaid:2"),
            ("say", "3"),
            ("press", "calc:food:no"),
            ("press", "calc:dismissed:no"),
        ],
    )
    result = expected(**HONG_KONG_CLAIM)
    assert {x.label for x in result.lines} >= {"underpayment", "unpaid_wages", "holidays"}
    text = worker.texts()
    shows(result, text, "en")
    fits_a_screen(replies)
    # Each line's working, from the engine's own numbers.
    under = next(x for x in result.lines if x.label == "underpayment")
    minimum, paid = (money(under.working[k], "HKD", "en") for k in ("minimum", "paid"))
    assert f"({minimum} - {paid}) x 6 months" in text
    assert f"{paid} x 2 months" in text
    assert "estimate, not legal advice" in text
    if result.unverified:
        assert "should be checked" in text
    # Rest days are not a question for Hong Kong (the law fixes no sum): named once.
    assert LINE_NAMES["rest_days"] in text
    assert "calc:consent:yes" in worker.payloads()

    assert await chat.services.cases.open_case_of(worker.sender) is None
    await worker.press("calc:consent:yes")
    case = await chat.services.cases.open_case_of(worker.sender)
    assert case is not None and case.id in worker.texts()
    assert (case.category, case.intent) == ("complaint", "complaint_employer")
    sheets = [e for e in await chat.services.cases.timeline(case.id) if e["kind"] == "claim_sheet"]
    assert len(sheets) == 1
    sheet = sheets[0]
    assert (sheet["country"], sheet["currency"]) == ("hong_kong", "HKD")
    assert Decimal(sheet["total"]) == result.total
    assert [x["label"] for x in sheet["lines"]] == [x.label for x in result.lines]
    assert [Decimal(x["amount"]) for x in sheet["lines"]] == [x.amount for x in result.lines]
    assert all(x["rule"]["law"] and x["working"] for x in sheet["lines"])
    assert sheet["unverified"] == result.unverified
    session = await chat.services.sessions.load(worker.sender)
    assert session.flow is None and session.data == {}
    # The operator sees the claim sheet on the case: every line, with its rule.
    operator = await Operator.signed_in(chat, "sari", Role.OPERATOR)
    try:
        status, page = await operator.get(f"/console/cases/{case.id}")
        assert status == 200
        assert "Claim sheet from the rights calculator" in page and 'class="claim-sheet"' in page
        assert all(line.rule.law in page for line in result.lines)
    finally:
        await operator.close()


async def test_indonesian_phrasing_and_money_in_indonesian_format(chat: Chat) -> None:
    worker = await worker_in(chat, "hong_kong", greeting="halo kak")
    assert (await chat.services.sessions.load(worker.sender)).locale == "id"
    await worker.press("calc")
    replies = await said_while(
        worker,
        [
            ("say", "sy kerja PRT"),
            ("say", "4.500"),
            ("say", "enam bulan"),
            ("say", "2 bulan"),
            ("say", "3"),
            ("say", "tidak dikasih"),
            ("say", "tidak"),
        ],
    )
    result = expected(**HONG_KONG_CLAIM)
    shows(result, worker.texts(), "id")
    assert money(5100, "HKD", "id") == "HK$5.100"  # the Indonesian way
    fits_a_screen(replies)
    # "No": nothing is kept beyond the conversation.
    await worker.say("tidak")
    assert await chat.services.cases.open_case_of(worker.sender) is None
    session = await chat.services.sessions.load(worker.sender)
    assert session.flow is None and session.data == {}


async def test_japan_explains_the_minimum_wage_is_not_computed_but_unpaid_wages_are(
    chat: Chat,
) -> None:
    worker = await worker_in(chat, "japan")
    await worker.press("calc")
    await said_while(
        worker,
        [("press", "calc:sector:other"), ("say", "¥180,000"), ("say", "6"), ("say", "2")],
    )
    result = expected(
        country="japan",
        sector=Sector.OTHER,
        monthly_wage=Decimal(180000),
        months_worked=6,
        months_unpaid=2,
    )
    assert [x.label for x in result.lines] == ["unpaid_wages"]
    (not_computed,) = [x for x in result.uncertain if x.label == "underpayment"]
    text = worker.texts()
    shows(result, text, "en")
    assert LINE_NAMES["underpayment"] in text and REASONS[not_computed.reason] in text
    assert "prefecture" in text


async def test_south_korea_asks_the_weekly_hours_the_hourly_minimum_is_counted_on(
    chat: Chat,
) -> None:
    worker = await worker_in(chat, "south_korea")
    await worker.press("calc")
    await said_while(
        worker,
        [("press", "calc:sector:other"), ("say", "2.000.000"), ("say", "6"), ("say", "0")],
    )
    standard = load_calculator_figures()["kr_weekly_hours"].value
    assert f"calc:hours:{standard}" in worker.payloads()
    await worker.say("60 jam")
    long_week = expected(
        country="south_korea",
        sector=Sector.OTHER,
        monthly_wage=Decimal(2000000),
        months_worked=6,
        hours_per_week=Decimal(60),
    )
    assert [x.reason for x in long_week.uncertain] == ["hours_not_standard"]
    assert REASONS["hours_not_standard"] in worker.texts()
    await worker.say("no")
    await worker.press("calc")
    await said_while(
        worker,
        [
            ("press", "calc:sector:other"),
            ("say", "2000000"),
            ("say", "6"),
            ("say", "0"),
            ("press", f"calc:hours:{standard}"),
        ],
    )
    shows(
        expected(
            country="south_korea",
            sector=Sector.OTHER,
            monthly_wage=Decimal(2000000),
            months_worked=6,
            hours_per_week=Decimal(standard),
        ),
        worker.texts(),
        "en",
    )


async def test_a_wage_that_is_no_number_is_asked_again(chat: Chat) -> None:
    worker = await worker_in(chat, "hong_kong")
    await transcript(
        worker,
        """
        press: calc
        press: calc:sector:domestic
        worker: lumayan lah kak
        bot: ~one number
        bot: ~HK$
        worker: 4500 and 300
        bot: ~one number
        worker: 0
        bot: ~one number
        worker: Rp 7.000.000
        bot: ~rupiah
        worker: 4500 HKD
        bot: ~How many months
        worker: many
        bot: ~whole number
        worker: 2 years
        bot: ? calc:unpaid:0
        worker: 30
        bot: ~more than the months
        """,
    )
    session = await chat.services.sessions.load(worker.sender)
    assert (session.flow, session.step) == ("calc", "unpaid")
    assert (session.data["wage"], session.data["months"]) == ("4500", 24)


async def test_cancel_ends_it_with_the_menu(chat: Chat) -> None:
    worker = await worker_in(chat, "taiwan", greeting="halo")
    await transcript(
        worker,
        """
        press: calc
        press: calc:sector:domestic
        worker: 20000
        worker: batal
        bot: ? menu:rights
        """,
    )
    session = await chat.services.sessions.load(worker.sender)
    assert session.flow is None and session.data == {}
    await transcript(
        worker,
        """
        press: calc
        bot: ? calc:cancel
        press: calc:cancel
        bot: ? menu:complaint
        press: calc:sector:domestic
        bot: ? menu:rights
        """,
    )


async def test_the_country_is_asked_first_when_unknown(chat: Chat) -> None:
    worker = await worker_in(chat, None)
    await transcript(
        worker,
        """
        press: calc
        bot: ? calc:country:singapore
        press: calc:country:singapore
        bot: ~Singapore
        bot: ? calc:sector:domestic
        """,
    )
    assert (await chat.services.sessions.load(worker.sender)).country == "singapore"


async def test_the_claim_sheet_goes_on_the_open_case(chat: Chat) -> None:
    worker = await worker_in(chat, "hong_kong")
    await transcript(
        worker,
        """
        press: menu:complaint
        press: complaint:against:employer
        worker: my employer has not paid my salary for two months
        press: complaint:since:months
        press: complaint:confirm
        """,
    )
    case = await chat.services.cases.open_case_of(worker.sender)
    assert case is not None
    await said_while(
        worker,
        [
            ("press", "calc"),
            ("press", "calc:sector:domestic"),
            ("say", "5100"),
            ("say", "4"),
            ("press", "calc:unpaid:2"),
            ("press", "calc:holidays:0"),
            ("press", "calc:food:yes"),
            ("press", "calc:dismissed:no"),
            ("say", "yes"),
        ],
    )
    assert case.id in worker.texts()
    assert [c.id for c in await chat.services.cases.of_sender(worker.sender)] == [case.id]
    sheets = [e for e in await chat.services.cases.timeline(case.id) if e["kind"] == "claim_sheet"]
    result = expected(
        country="hong_kong",
        sector=Sector.DOMESTIC,
        monthly_wage=Decimal(5100),
        months_worked=4,
        months_unpaid=2,
        free_food=True,
    )
    assert [Decimal(s["total"]) for s in sheets] == [result.total]


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("4.500", 4500),
        ("4,500", 4500),
        ("4500 HKD", 4500),
        ("HK$4500", 4500),
        ("HK$ 4,500.50", Decimal("4500.50")),
        ("4.500,50", Decimal("4500.50")),
        ("4,5 juta", 4500000),
        ("Rp 7.000.000", 7000000),
        ("gaji sy 4500 sebulan", 4500),
        ("banyak", None),
        ("4500 or 5000", None),
        ("0", None),
        ("12,34,567", None),
    ],
)
def test_amounts_as_workers_write_them(text: str, amount: Decimal | int | None) -> None:
    assert amount_of(text) == amount


@pytest.mark.parametrize(
    ("text", "months"),
    [("6", 6), ("6 bulan", 6), ("enam", 6), ("2 tahun", 24), ("setahun", 12), ("tidak ada", 0)],
)
def test_months_as_workers_write_them(text: str, months: int) -> None:
    assert count_of(text, months=True) == months


async def test_an_emergency_in_the_middle_of_the_calculator_still_reaches_a_person(
    chat: Chat,
) -> None:
    """The calculator's answers are short and held to a stricter emergency bar; a
    worker who tells of danger in the middle of it is heard as anywhere else."""
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: halo
        press: country:hong_kong
        press: calc
        press: calc:sector:domestic
        worker: sy gak boleh keluar rumah sama majikan, hp sy diambil dari kemarin
        bot: ? safe:no
        """,
    )
    case = await chat.services.cases.open_case_of(worker.sender)
    assert case is not None and case.priority == "critical"
