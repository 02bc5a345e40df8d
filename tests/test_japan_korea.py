"""Workers in Japan and South Korea, end to end through the web chat with the real Rasa
server (issue 23): the country understood from the button, from "jepang"/"korsel" and
from a city, the country's own answers and numbers, an emergency with the country's
emergency number and embassy."""

from __future__ import annotations

import pytest

from tests.chat import Chat, transcript

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
