"""Workers in Japan and South Korea, end to end through the web chat with the real Rasa
server (issue 23): the country understood from the button, from "jepang"/"korsel" and
from a city, the country's own answers and numbers, an emergency with the country's
emergency number and embassy."""

from __future__ import annotations

import re

import pytest

from tests.chat import Chat, transcript
from tests.console import Operator

pytestmark = pytest.mark.rasa


async def test_a_worker_in_japan_chooses_the_country_and_asks_about_wages(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: hello
        bot: ? country:japan
        bot: ? country:south_korea
        press: country:japan
        bot: ~Japan
        worker: what is the minimum wage here
        bot: ~prefecture
        bot: ~¥1,023
        bot: !HK$
        """,
    )
    session = await chat.services.sessions.load(worker.sender)
    assert session.country == "japan"


async def test_korsel_in_indonesian_gets_the_korean_answer(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: halo
        bot: ? country:south_korea
        worker: sy kerja di korsel, upah minimum brp ya skrg
        bot: ~Korea Selatan
        bot: ~₩10.320
        """,
    )


async def test_an_emergency_in_osaka_gets_japan_s_numbers(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: tolong sy di osaka dipukul bos sampe berdarah
        bot: ~110
        bot: ~KBRI Tokyo
        bot: ? safe:no
        """,
    )
    case = await chat.services.cases.open_case_of(worker.sender)
    assert case is not None and case.priority == "critical" and case.country == "japan"


async def test_an_emergency_in_ansan_gets_korea_s_numbers(chat: Chat) -> None:
    worker = await chat.new_worker()
    await transcript(
        worker,
        """
        worker: help my boss in ansan locked me in the factory dorm and took my passport
        bot: ~112
        bot: ~KBRI Seoul
        """,
    )
    case = await chat.services.cases.open_case_of(worker.sender)
    assert case is not None and case.priority == "critical" and case.country == "south_korea"


async def test_the_operator_sees_who_can_help_in_the_case_s_country(desk: Chat) -> None:
    """A fisher held in Korea: the case page lists Korea's directory, the fishers' call
    centre with its Indonesian line among it, unverified entries marked, and a partner's
    web address linked."""
    worker = await desk.new_worker()
    await transcript(
        worker,
        """
        worker: help my boss in ansan locked me in the factory dorm and took my passport
        bot: ~112
        """,
    )
    case = await desk.services.cases.open_case_of(worker.sender)
    assert case is not None and case.country == "south_korea"
    operator = await Operator.signed_in(desk, "sari")
    try:
        status, page = await operator.get(f"/console/cases/{case.id}")
    finally:
        await operator.close()
    assert status == 200
    directory = re.search(r'<details id="directory">.*?</details>', page, re.S)
    assert directory is not None, page
    found = directory.group(0)
    assert "Who can help in South Korea" in found and "KBRI Seoul: +82 10-5394-2546" in found
    koswec = re.search(r"<li>[^<]*<a[^>]*>KOSWEC[^<]*</a>: 1566-3151.*?</li>", found, re.S)
    assert koswec is not None and "010-7343-8514" in koswec.group(0), found
    assert 'href="http://www.koswec.or.kr/' in koswec.group(0)
    assert "(unverified)" not in koswec.group(0)
    ansan = re.search(r"<li>Ansan Foreign Residents Support Center.*?</li>", found, re.S)
    assert ansan is not None and "(unverified)" in ansan.group(0)
    assert "Japan" not in found and "KBRI Tokyo" not in found
