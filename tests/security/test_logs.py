"""Logs carry no tokens, no phone numbers, no message texts and no search terms at INFO
(issue 18): a worker's conversation on the web chat and on WhatsApp, an operator's
search and reply, and every log line of it is read back."""

from __future__ import annotations

import logging

import pytest

from tests.console import Operator
from tests.eventually import eventually
from tests.graph_standin import text
from tests.harness import Helpline

pytestmark = pytest.mark.rasa

PHONE = "6287712345678"
WORDS = "kunyitmarker"
SEARCH = "carimarker"


async def test_no_token_number_text_or_search_term_in_the_logs(
    wa: Helpline, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    chat = wa.chat
    worker = await chat.new_worker()
    await worker.say(f"tolong majikan sy mukul sy td malam {WORDS}")
    await worker.events(1)  # opens the stream with a ticket
    mark = await wa.says(text(PHONE, f"gaji sy blm dibayar 3 bulan {WORDS}"))
    await wa.whatsapp.wait_for(lambda b: b["to"] == PHONE, after=mark)
    operator = await Operator.signed_in(chat, "ida")
    try:
        await operator.get(f"/console/cases?q={SEARCH}")
        case = await chat.services.cases.open_case_of(worker.sender)
        assert case is not None
        await operator.post(f"/console/cases/{case.id}/claim")
        await operator.post(f"/console/cases/{case.id}/reply", {"text": f"halo {WORDS}"})
    finally:
        await operator.close()
    await eventually(
        lambda: len(caplog.records), lambda n: n > 10, what="the conversation's log lines"
    )
    lines = "\n".join(r.getMessage() for r in caplog.records)
    assert "/api/chat/tickets" in lines and "/console/cases" in lines  # the access log
    for secret in (worker.token, WORDS, SEARCH, PHONE, worker.conversation_id):
        assert secret not in lines, f"{secret!r} is in the logs"
