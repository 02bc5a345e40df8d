"""The operator console over HTTP, against the whole bot (real Redis, real Rasa server):
sign-in and its failures, CSRF, roles, and the relay from claim to close."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.messages import Inbound
from bot.store.cases import TRANSITIONS, Status
from bot.store.users import Role
from tests.chat import Chat, Worker
from tests.conftest import make_settings, nlu_nowhere
from tests.console import PASSWORD, Operator
from tests.eventually import eventually


@pytest.fixture
async def operator(desk: Chat) -> AsyncIterator[Operator]:
    signed_in = await Operator.signed_in(desk, "sari")
    yield signed_in
    await signed_in.close()


async def _emergency(chat: Chat) -> tuple[Worker, str]:
    worker = await chat.new_worker()
    await worker.say("tolong majikan saya pukul saya setiap hari")
    case = await chat.services.cases.open_case_of(worker.sender)
    assert case is not None and case.priority == "critical", worker.texts()
    return worker, case.id


async def _timeline_kinds(chat: Chat, case_id: str) -> list[str]:
    return [e["kind"] for e in await chat.services.cases.timeline(case_id)]


async def test_missing_or_forged_csrf_tokens_change_nothing(desk: Chat, operator: Operator) -> None:
    _worker, case_id = await _emergency(desk)
    before = await _timeline_kinds(desk, case_id)
    for token in ("", "forged-token"):
        status, page, _ = await operator.post(
            f"/console/cases/{case_id}/note", {"text": "my note"}, csrf=token
        )
        assert status == 403 and "not accepted" in page
        assert "my note" in page, "what the operator typed is shown back, not lost"
    assert await _timeline_kinds(desk, case_id) == before
    # Logging in also needs the login form's own token.
    async with operator.session.post(
        f"{desk.base}/console/login", data={"username": "sari", "password": PASSWORD}
    ) as response:
        assert response.status == 403


async def test_roles_are_enforced(desk: Chat, operator: Operator) -> None:
    editor = await Operator.signed_in(desk, "edi", Role.EDITOR)
    try:
        assert (await operator.get("/console/audit"))[0] == 403
        assert (await operator.get("/console/users"))[0] == 403
        assert (await editor.get("/console/cases"))[0] == 403
        assert (await editor.get("/console/queue/fragment"))[0] == 403
        assert (await editor.get("/console/content"))[0] == 200
        _worker, case_id = await _emergency(desk)
        status, _page, _ = await editor.post(f"/console/cases/{case_id}/claim")
        assert status == 403
        assert (await desk.services.cases.get(case_id)).assignee is None  # type: ignore[union-attr]
    finally:
        await editor.close()
    anonymous = Operator.anonymous(desk, "nobody")
    try:
        status, _page = await anonymous.get("/console/cases")
        assert status == 303
    finally:
        await anonymous.close()


async def test_claim_reply_close_and_the_bot_answers_again(desk: Chat, operator: Operator) -> None:
    async with operator.watching() as live:
        worker, case_id = await _emergency(desk)
        heard = await eventually(lambda: live.seen, lambda seen: len(seen) >= 2, what="2 events")
    # The console hears of the new case and of its escalation.
    assert [(e["type"], e["case_id"]) for _at, e in heard[:2]] == [
        ("case", case_id),
        ("escalation", case_id),
    ]
    status, page = await operator.get("/console/queue/fragment")
    assert status == 200 and case_id in page

    status, page, where = await operator.post(f"/console/cases/{case_id}/claim")
    assert status == 200 and where == f"/console/cases/{case_id}"
    assert "You have claimed this case" in page
    # The worker wrote in Indonesian, so they are told in Indonesian who joined.
    joined = await worker.until(lambda seen: "Sari dari tim kami" in seen[-1]["text"])
    assert case_id in joined[-1]["text"]

    # While the operator owns the conversation the bot says nothing; the case gets it.
    await worker.say("saya di kamar mandi sekarang, takut")
    assert worker.last == []
    assert (
        "saya di kamar mandi sekarang, takut"
        in (await operator.get(f"/console/cases/{case_id}/timeline"))[1]
    )

    status, page, _ = await operator.post(
        f"/console/cases/{case_id}/reply", {"text": "Kami di sini. Apakah pintunya terkunci?"}
    )
    assert status == 200 and "Your reply was sent" in page
    seen = await worker.until(lambda seen: seen[-1]["from"] == "operator")
    assert seen[-1]["text"] == "Kami di sini. Apakah pintunya terkunci?"
    assert seen[-1]["name"] == "Sari"
    assert await desk.queue.find(case_id) is None, "an answered escalation leaves the queue"

    status, page, _ = await operator.post(f"/console/cases/{case_id}/status", {"status": "closed"})
    assert status == 409 and "Choose how the case ended" in page, "closing asks for the outcome"
    status, page, _ = await operator.post(
        f"/console/cases/{case_id}/status", {"status": "closed", "outcome": "resolved_unpaid"}
    )
    assert status == 200 and "The case is closed" in page
    await worker.until(lambda seen: case_id in seen[-1]["text"] and "ditutup" in seen[-1]["text"])
    await worker.say("halo")
    assert worker.last, "after closing, the bot answers again"
    kinds = await _timeline_kinds(desk, case_id)
    for kind in ("assigned", "worker_message", "operator_message", "status"):
        assert kind in kinds
    audit = {(e.action, e.case_id) for e in await desk.console.audit.recent(case_id=case_id)}
    assert {("claim", case_id), ("reply", case_id), ("status", case_id), ("view", case_id)} <= audit


async def test_a_reply_to_a_case_closed_meanwhile_is_refused_and_kept(
    desk: Chat, operator: Operator
) -> None:
    worker, case_id = await _emergency(desk)
    await operator.post(f"/console/cases/{case_id}/claim")
    supervisor = await Operator.signed_in(desk, "susi", Role.SUPERVISOR)
    try:
        await supervisor.post(
            f"/console/cases/{case_id}/status", {"status": "closed", "outcome": "withdrawn"}
        )
    finally:
        await supervisor.close()
    text = "Jangan khawatir, kami akan bantu <b>segera</b>"
    status, page, _ = await operator.post(f"/console/cases/{case_id}/reply", {"text": text})
    assert status == 409 and "closed meanwhile" in page
    assert "Jangan khawatir, kami akan bantu &lt;b&gt;segera&lt;/b&gt;" in page
    seen = await worker.until(lambda seen: "ditutup" in seen[-1]["text"])
    assert not any(m["text"] == text for m in seen)


async def test_another_operators_case_is_not_yours_to_answer(
    desk: Chat, operator: Operator
) -> None:
    _worker, case_id = await _emergency(desk)
    await operator.post(f"/console/cases/{case_id}/claim")
    other = await Operator.signed_in(desk, "tono")
    try:
        status, page, _ = await other.post(f"/console/cases/{case_id}/claim")
        assert status == 409 and "claimed this case already" in page
        status, page, _ = await other.post(f"/console/cases/{case_id}/reply", {"text": "hi"})
        assert status == 403 and "belongs to sari" in page
        status, _page, _ = await other.post(f"/console/cases/{case_id}/reopen")
        assert status == 403
    finally:
        await other.close()


async def test_markup_from_a_worker_is_shown_as_text(desk: Chat, operator: Operator) -> None:
    worker = await desk.new_worker()
    await worker.say("<script>alert(1)</script> tolong saya dipukul majikan")
    case = await desk.services.cases.open_case_of(worker.sender)
    assert case is not None
    status, page = await operator.get(f"/console/cases/{case.id}")
    assert status == 200
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


async def test_notes_referrals_transfer_and_search(desk: Chat, operator: Operator) -> None:
    _worker, case_id = await _emergency(desk)
    await operator.post(f"/console/cases/{case_id}/claim")
    await operator.post(f"/console/cases/{case_id}/note", {"text": "called the shelter"})
    status, page, _ = await operator.post(
        f"/console/cases/{case_id}/refer", {"partner": "BP2MI / KP2MI (Indonesia)", "text": "x"}
    )
    assert status == 200 and "Referral recorded" in page
    await operator.post(f"/console/cases/{case_id}/outcome", {"index": "0", "outcome": "accepted"})
    case = await desk.services.cases.get(case_id)
    assert case is not None and case.status == "referred"
    assert case.referrals[0]["outcome"] == "accepted"
    await (await Operator.signed_in(desk, "wati")).close()
    status, page, path = await operator.post(f"/console/cases/{case_id}/transfer", {"to": "wati"})
    assert status == 200 and path == "/console/queue" and "transferred" in page
    case = await desk.services.cases.get(case_id)
    assert case is not None and case.assignee == "wati"
    # Wati's case now: Sari no longer finds it; a supervisor does.
    status, page = await operator.get(f"/console/cases?q={case_id}&status=")
    assert status == 200 and f'href="/console/cases/{case_id}"' not in page
    supervisor = await Operator.signed_in(desk, "sup", Role.SUPERVISOR)
    try:
        status, page = await supervisor.get(f"/console/cases?q={case_id}&status=")
        assert status == 200 and re.search(rf'href="/console/cases/{case_id}"', page)
        status, page = await supervisor.get("/console/cases?status=closed")
        assert case_id not in page
        status, page = await supervisor.get("/console/cases?assignee=wati&status=open")
        assert case_id in page
    finally:
        await supervisor.close()


async def test_a_restart_in_the_middle_of_a_relay_loses_nothing(
    redis_url: str, key_prefix: str
) -> None:
    settings = make_settings(redis_url, nlu_nowhere(), key_prefix)
    async with Chat.serve(settings) as desk:
        operator = await Operator.signed_in(desk, "sari")
        worker, case_id = await _emergency(desk)
        await operator.post(f"/console/cases/{case_id}/claim")
        await operator.post(f"/console/cases/{case_id}/reply", {"text": "sebelum restart"})
        await operator.close()
        token, conversation = worker.token, worker.conversation_id
        inbox = desk.helpline.runner.inbox
    # Between the two processes the worker's message is accepted (as a webhook would be).
    await inbox.accept(Inbound("webchat", conversation, "m-while-down", "masih di sini"))
    async with Chat.serve(settings) as desk:
        await eventually(
            lambda: desk.services.cases.timeline(case_id),
            lambda timeline: any(e.get("text") == "masih di sini" for e in timeline),
            what="the message accepted while the bot was down reaches the case",
        )
        worker = Worker(desk.session, desk.base, conversation, token)
        seen = await worker.until(lambda seen: seen[-1]["text"] == "sebelum restart")
        assert [m["text"] for m in seen if m["from"] == "operator"] == ["sebelum restart"]
        # The bot stayed silent: the operator still owns the conversation, so nothing
        # was said to the worker after the operator's reply.
        said = [m for _, m in await desk.services.outbox.read(worker.sender)]
        assert said[-1]["text"] == "sebelum restart"
        session = await desk.services.sessions.load(worker.sender)
        assert session.owner == "operator:sari"
        operator = Operator.anonymous(desk, "sari")
        try:
            assert (await operator.login(PASSWORD))[0] == 200
            status, _page, _ = await operator.post(
                f"/console/cases/{case_id}/reply", {"text": "sesudah restart"}
            )
            assert status == 200
        finally:
            await operator.close()
        seen = await worker.until(lambda seen: seen[-1]["text"] == "sesudah restart")
        assert [m["text"] for m in seen if m["from"] == "operator"] == [
            "sebelum restart",
            "sesudah restart",
        ]


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_every_page_renders_in_both_languages(desk: Chat, lang: str) -> None:
    admin = await Operator.signed_in(desk, f"admin{lang}", Role.ADMIN)
    try:
        _worker, case_id = await _emergency(desk)
        pages = [
            "/console/queue",
            "/console/queue/fragment",
            "/console/cases",
            f"/console/cases/{case_id}",
            f"/console/cases/{case_id}/timeline",
            "/console/audit",
            "/console/users",
            "/console/content",
            "/console/content/answer/health/taiwan/id",
            "/console/content/referral/malaysia",
            "/console/content/examples",
        ]
        for path in pages:
            status, page = await admin.get(f"{path}?lang={lang}")
            assert status == 200, (path, page[:300])
        status, page = await admin.get(f"/console/queue?lang={lang}")
        assert ("Antrean" in page) == (lang == "id")
    finally:
        await admin.close()


STATUS_OPTIONS = re.compile(r'<select name="status"[^>]*>(.*?)</select>', re.S)


async def _offered(operator: Operator, case_id: str) -> set[str]:
    page = (await operator.get(f"/console/cases/{case_id}"))[1]
    found = STATUS_OPTIONS.search(page)
    assert found, page[:300]
    return set(re.findall(r'<option value="([^"]+)"', found.group(1)))


async def test_the_case_page_offers_exactly_the_statuses_transitions_allows(
    desk: Chat, operator: Operator
) -> None:
    """Regression: the page offered new -> waiting_for_worker, which TRANSITIONS refuses."""
    _worker, case_id = await _emergency(desk)
    assert await _offered(operator, case_id) == {s.value for s in TRANSITIONS[Status.NEW]}
    await operator.post(f"/console/cases/{case_id}/claim")
    assert await _offered(operator, case_id) == {s.value for s in TRANSITIONS[Status.CLAIMED]}
    # Every status offered is one the case can take.
    status, _page, _path = await operator.post(
        f"/console/cases/{case_id}/status", {"status": Status.WAITING.value}
    )
    assert status == 200
    case = await desk.casework.case(case_id)
    assert case.status == Status.WAITING.value
    assert await _offered(operator, case_id) == {s.value for s in TRANSITIONS[Status.WAITING]}


async def test_an_account_speaks_the_operators_language_until_it_chooses_another(
    desk: Chat, operator: Operator, tmp_path: Path
) -> None:
    settings = desk.helpline.settings
    env = dict(
        os.environ,
        HELPLINE_REDIS_URL=settings.redis_url or "",
        HELPLINE_KEY_PREFIX=settings.key_prefix,
        HELPLINE_DATA_DIR=str(tmp_path),
        HELPLINE_OPERATORS_LOCALE="en",
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "users", "add", "wati", "--role", "operator",
         "--password-stdin"],
        input=PASSWORD, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    added = await desk.console.users.get("wati")
    assert added is not None and added.locale == "en", "HELPLINE_OPERATORS_LOCALE by default"

    status, page, _ = await operator.post("/console/account/language", {"locale": "id"})
    assert status == 200 and "Bahasa" in page
    assert (await desk.console.users.get("sari")).locale == "id"  # type: ignore[union-attr]
    _status, queue = await operator.get("/console/queue")
    assert 'lang="id"' in queue, "the account's language, over the browser's (English)"
    status, page, _ = await operator.post("/console/account/language", {"locale": "xx"})
    assert status == 400
    actions = [e.action for e in await desk.console.audit.recent(user="sari")]
    assert "account_language" in actions


async def test_the_case_page_tells_the_whole_story_with_the_bots_words_folded(
    desk: Chat, operator: Operator
) -> None:
    worker, case_id = await _emergency(desk)
    said_by_bot = [m["text"] for m in worker.last if m.get("from") == "bot"]
    assert said_by_bot
    _status, page = await operator.get(f"/console/cases/{case_id}")
    folded = page[page.index('<details class="bot-messages">') :]
    folded = folded[: folded.index("</details>")]
    assert "message" in folded and "from the bot" in folded
    assert said_by_bot[0].split("\n")[0][:40] in folded.replace("&#39;", "'")
    assert '<details class="bot-messages" open' not in page, "folded by default"
    # Times are in the helpline's zone, named.
    zone = desk.helpline.settings.timezone
    named = {"Asia/Jakarta": "WIB", "UTC": "UTC"}.get(zone, "")
    assert re.search(rf"\d\d?[:.]\d\d[^<]{{0,6}} {named}</dd>", page), zone


async def test_editors_keep_canned_replies_and_operators_insert_them_filled_in(
    desk: Chat, operator: Operator
) -> None:
    editor = await Operator.signed_in(desk, "edi", Role.EDITOR)
    try:
        reply = {
            "name": "embassy",
            "title": "The embassy's hotline",
            "country": "",
            "text_id": "Hubungi {embassy_name} di {embassy_hotline}.",
            "text_en": "Call {embassy_name} on {embassy_hotline}.",
        }
        status, page, _ = await editor.post("/console/content/canned/save", reply)
        assert status == 200 and "The embassy&#39;s hotline" in page
        status, page, _ = await editor.post(
            "/console/content/canned/save", {**reply, "name": "Bad Name!"}
        )
        assert status == 400 and "Not saved" in page
        only_tw = {**reply, "name": "taiwan-only", "title": "Taiwan only", "country": "taiwan"}
        await editor.post("/console/content/canned/save", only_tw)
        figure = "{figure:hk_minimum_allowable_wage}"
        wage = {**reply, "name": "wage", "text_id": f"Gaji minimum: {figure}."}
        await editor.post("/console/content/canned/save", wage)
    finally:
        await editor.close()
    assert (await operator.post("/console/content/canned/save", reply))[0] == 403

    worker = await desk.new_worker()
    await worker.say("tolong majikan saya pukul saya setiap hari, saya di hong kong")
    case = await desk.services.cases.open_case_of(worker.sender)
    assert case is not None and case.country == "hong_kong"
    _status, page = await operator.get(f"/console/cases/{case.id}")
    # Filled in for Hong Kong, in the worker's language (Indonesian: they wrote in it).
    assert "Hubungi KJRI Hong Kong di +852 6773 0466." in page
    assert "Gaji minimum: HK$5.100." in page, "figures from kb/figures.yml, as workers read them"
    assert 'data-name="taiwan-only"' not in page, "a reply for another country is not offered"
    assert 'id="kb-insert"' in page and "kb-text" in page
    audit = [e.action for e in await desk.console.audit.recent(user="edi")]
    assert "canned_save" in audit


async def test_a_follow_up_date_lists_the_case_as_due_then_overdue_and_a_gentle_word(
    desk: Chat, operator: Operator
) -> None:
    worker, case_id = await _emergency(desk)
    await operator.post(f"/console/cases/{case_id}/claim")
    zone = ZoneInfo(desk.helpline.settings.timezone)
    today = dt.datetime.now(tz=zone).date()
    status, page, _ = await operator.post(f"/console/cases/{case_id}/due", {"day": "someday"})
    assert status == 409 and "as a day" in page
    status, page, _ = await operator.post(
        f"/console/cases/{case_id}/due", {"day": today.isoformat()}
    )
    assert status == 200 and "Follow-up date saved" in page and 'id="due-day"' in page
    _status, queue = await operator.get("/console/queue")
    due = queue[queue.index('id="due"') :]
    assert case_id in due and "overdue" not in due

    last_week = (today - dt.timedelta(days=7)).isoformat()
    await operator.post(f"/console/cases/{case_id}/due", {"day": last_week})
    _status, queue = await operator.get("/console/queue")
    assert "overdue since" in queue[queue.index('id="due"') :]
    colleague = await Operator.signed_in(desk, "dewi")
    supervisor = await Operator.signed_in(desk, "susi", Role.SUPERVISOR)
    try:
        _status, theirs = await colleague.get("/console/queue")
        assert case_id not in theirs[theirs.index('id="due"') :], "not their case"
        _status, everyone = await supervisor.get("/console/queue")
        assert case_id in everyone[everyone.index('id="due"') :]
    finally:
        await colleague.close()
        await supervisor.close()

    status, page, _ = await operator.post(f"/console/cases/{case_id}/follow_up")
    assert status == 200 and "got a follow-up message" in page
    # In the worker's language (Indonesian), naming the case.
    seen = await worker.until(lambda seen: "Bagaimana" in seen[-1]["text"])
    assert case_id in seen[-1]["text"]
    kinds = await _timeline_kinds(desk, case_id)
    assert "due" in kinds and "follow_up" in kinds

    await operator.post(
        f"/console/cases/{case_id}/status", {"status": "closed", "outcome": "resolved_unpaid"}
    )
    _status, queue = await operator.get("/console/queue")
    assert case_id not in queue[queue.index('id="due"') :], "a closed case is not due"


async def test_search_finds_a_case_by_any_message_and_forgets_it_on_erasure(
    desk: Chat, operator: Operator
) -> None:
    worker, case_id = await _emergency(desk)
    await operator.post(f"/console/cases/{case_id}/claim")
    await worker.say("paspor saya ditahan agensi Sejahtera")
    await eventually(
        lambda: _timeline_kinds(desk, case_id),
        lambda kinds: kinds.count("worker_message") >= 1,
        what="the worker's message on the case",
    )
    await operator.post(f"/console/cases/{case_id}/note", {"text": "called KJRI shelter"})
    for query in ("Sejahtera", "paspor ditahan", "shelter"):
        _status, page = await operator.get(f"/console/cases?status=&q={query}")
        assert case_id in page, query
    _status, page = await operator.get("/console/cases?status=&q=Makmur")
    assert case_id not in page
    stored = await desk.redis.keys(f"{desk.helpline.keys.prefix}:cases:word:*")
    assert stored and not any(b"sejahtera" in k.lower() for k in map(str.encode, stored))

    await worker.say("hapus data saya")
    await worker.press("delete:confirm")
    await eventually(
        lambda: desk.services.cases.get(case_id),
        lambda case: case is not None and case.sender is None,
        what="the worker's data erased",
    )
    _status, page = await operator.get("/console/cases?status=&q=Sejahtera")
    assert case_id not in page, "an erased worker's words are not found any more"
    assert not await desk.redis.exists(desk.helpline.keys.case_words(case_id))
