"""Content editing over HTTP and on the store: drafts, publishing (the bot answers with the
new text at once), stale translations, history and rollback, two editors at once,
validation next to the field, the referral directory, import and export, examples."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.kb import KnowledgeBase
from bot.nlu_model.proposed import export_proposed
from bot.store.kb_store import KBStore, answer_key
from bot.store.proposals import Proposal
from bot.store.users import Role
from tests.chat import Chat, transcript
from tests.console import Operator
from tests.eventually import eventually

EDIT = "/console/content/answer/wages/hong_kong/en"
VERSION = re.compile(r'name="version" value="(\d+)"')


async def _editor(chat: Chat, name: str = "edi") -> Operator:
    return await Operator.signed_in(chat, name, Role.EDITOR)


async def _version(editor: Operator, path: str = EDIT) -> str:
    return str(VERSION.findall((await editor.get(path))[1])[0])


def _form(text: str, version: str) -> dict[str, str]:
    return {
        "text": text,
        "source": "Labour Department HK, checked by phone",
        "reviewed": "2026-11-20",
        "version": version,
    }


async def _state(editor: Operator, topic: str, place: str, lang: str) -> str:
    page = (await editor.get("/console/content"))[1]
    found = re.search(rf'data-state="(\w+)" id="cell-{topic}-{place}-{lang}"', page)
    assert found, page[:500]
    return found.group(1)


def _text(kb: KnowledgeBase, topic: str, country: str, lang: str) -> str:
    answer = kb.answer(topic, country, lang)
    return answer.text if answer is not None else ""


async def _served(desk: Chat, check: Callable[[KnowledgeBase], bool]) -> None:
    """A publish reaches the bot through the "kb" event, which every process (the
    publishing one too) reloads on: once, within moments."""
    await eventually(lambda: desk.services.kb, check, what="the published content served")


async def test_draft_publish_and_the_bot_answers_with_it_at_once(desk: Chat) -> None:
    editor = await _editor(desk)
    try:
        assert await _state(editor, "wages", "hong_kong", "en") == "published"
        new = "In Hong Kong the minimum wage for helpers is {money:HKD:5100} a month (NEW TEXT)."
        status, page, _ = await editor.post(f"{EDIT}/save", _form(new, await _version(editor)))
        assert status == 200 and "Draft saved" in page
        assert await _state(editor, "wages", "hong_kong", "en") == "draft"
        worker = await desk.new_worker()
        await transcript(
            worker,
            """
            worker: hello
            press: country:hong_kong
            press: topic:wages
            bot: !NEW TEXT
            """,
        )
        status, page, _ = await editor.post(f"{EDIT}/publish", {"version": await _version(editor)})
        assert status == 200 and "Published" in page
        await _served(desk, lambda kb: "NEW TEXT" in _text(kb, "wages", "hong_kong", "en"))
        await transcript(worker, "press: topic:wages\nbot: ~HK$5,100 a month (NEW TEXT)")
        # The Indonesian answer is now older than the English one.
        assert await _state(editor, "wages", "hong_kong", "id") == "stale"
    finally:
        await editor.close()


async def test_history_and_rollback(desk: Chat) -> None:
    editor = await _editor(desk)
    try:
        for text in ("First edit of the answer.", "Second edit of the answer."):
            await editor.post(f"{EDIT}/save", _form(text, await _version(editor)))
            await editor.post(f"{EDIT}/publish", {"version": await _version(editor)})
        store: KBStore = desk.console.kb_store
        entry = await store.get(answer_key("wages", "hong_kong", "en"), with_history=True)
        first = next(h for h in entry.history if h["action"] == "publish" and
                     h["content"]["text"] == "First edit of the answer.")  # fmt: skip
        status, _page, _ = await editor.post(
            f"{EDIT}/rollback", {"version": await _version(editor), "to": str(first["version"])}
        )
        assert status == 200
        await _served(
            desk, lambda kb: _text(kb, "wages", "hong_kong", "en") == "First edit of the answer."
        )
        actions = [h["action"] for h in (await store.get(entry.key, with_history=True)).history]
        assert actions[0].startswith("rollback") and actions.count("publish") == 2
    finally:
        await editor.close()


async def test_two_editors_saving_the_same_entry(desk: Chat) -> None:
    ana, budi = await _editor(desk, "ana"), await _editor(desk, "budi")
    try:
        opened = await _version(ana)
        assert await _version(budi) == opened
        status, _page, _ = await ana.post(f"{EDIT}/save", _form("Ana's wording.", opened))
        assert status == 200
        status, page, _ = await budi.post(f"{EDIT}/save", _form("Budi's wording.", opened))
        assert status == 409 and "ana saved this answer while you were editing" in page
        assert "Budi&#39;s wording." in page, "the second editor's text is kept, not lost"
        entry = await desk.console.kb_store.get(answer_key("wages", "hong_kong", "en"))
        assert entry.draft is not None and entry.draft["text"] == "Ana's wording."
    finally:
        await ana.close()
        await budi.close()


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("", "text", "The answer is empty"),
        ("x" * 1100, "text", "Too long for a chat message"),
        ("Call {embassy_hotlin} now.", "text", "placeholder is broken or unknown"),
        ("Call {embassy_hotline now.", "text", "placeholder is broken or unknown"),
    ],
)
async def test_validation_errors_are_shown_next_to_the_field(
    desk: Chat, text: str, field: str, message: str
) -> None:
    editor = await _editor(desk)
    try:
        status, page, _ = await editor.post(f"{EDIT}/save", _form(text, await _version(editor)))
        assert status == 422
        shown = re.search(rf'id="error-{field}">([^<]*)<', page)
        assert shown and message in shown.group(1)
        form = _form("Fine text.", await _version(editor))
        form["source"] = ""
        status, page, _ = await editor.post(f"{EDIT}/save", form)
        assert status == 422 and 'id="error-source"' in page
    finally:
        await editor.close()


async def test_markup_is_text_in_the_console_and_in_the_chat(desk: Chat) -> None:
    editor = await _editor(desk)
    try:
        evil = "<script>window.pwned=1</script><b>bold</b> call {embassy_hotline}"
        await editor.post(f"{EDIT}/save", _form(evil, await _version(editor)))
        page = (await editor.get(EDIT))[1]
        assert "<script>window.pwned" not in page and "&lt;script&gt;window.pwned" in page
        await editor.post(f"{EDIT}/publish", {"version": await _version(editor)})
        worker = await desk.new_worker()
        await transcript(worker, "worker: hello\npress: country:hong_kong\npress: topic:wages")
        said = worker.texts()
        assert "<script>window.pwned=1</script><b>bold</b>" in said, "sent as plain text"
    finally:
        await editor.close()


async def test_roles(desk: Chat) -> None:
    operator = await Operator.signed_in(desk, "opi", Role.OPERATOR)
    editor = await _editor(desk)
    try:
        assert (await operator.get("/console/content"))[0] == 403
        assert (await operator.get(EDIT))[0] == 403
        status, _page, _ = await operator.post(f"{EDIT}/save", _form("x", "1"))
        assert status == 403
        assert (await editor.get("/console/content/referral/taiwan"))[0] == 200
        # Proposed examples reach nlu/ only through the CLI: no web request writes files.
        status, _page, _ = await editor.post("/console/content/examples/export")
        assert status == 404
    finally:
        await operator.close()
        await editor.close()


async def test_second_reviewer_required_by_configuration(desk: Chat) -> None:
    desk.console.kb_store.review_required = True
    author, reviewer = await _editor(desk, "author"), await _editor(desk, "reviewer")
    try:
        await author.post(f"{EDIT}/save", _form("Reviewed text.", await _version(author)))
        status, page, _ = await author.post(f"{EDIT}/publish", {"version": await _version(author)})
        assert status == 409 and "second editor" in page
        status, page, _ = await reviewer.post(
            f"{EDIT}/publish", {"version": await _version(reviewer)}
        )
        assert status == 200 and "Published" in page
    finally:
        await author.close()
        await reviewer.close()


async def test_the_referral_directory_is_edited_the_same_way(desk: Chat) -> None:
    editor = await _editor(desk)
    path = "/console/content/referral/hong_kong"
    try:
        page = (await editor.get(path))[1]
        version = VERSION.findall(page)[0]
        form = {
            "version": version,
            "emergency_number.number": "999",
            "embassy.name": "KJRI Hong Kong",
            "embassy.hotline": "+852 0000 1111",
            "labour_department.name": "Labour Department",
            "labour_department.phone": "2157 9537",
            "partners": "Mission for Migrant Workers (MFMW) | +852 2522 8264 | https://www.migrants.net",
        }
        status, _page, _ = await editor.post(f"{path}/save", {**form, "embassy.name": ""})
        assert status == 422
        status, _page, _ = await editor.post(f"{path}/save", form)
        assert status == 200
        version = VERSION.findall((await editor.get(path))[1])[0]
        # Emergency numbers need a second editor by default.
        status, page, _ = await editor.post(f"{path}/publish", {"version": version})
        assert status == 409 and "second editor" in page
        reviewer = await _editor(desk, "rev")
        try:
            status, _page, _ = await reviewer.post(f"{path}/publish", {"version": version})
        finally:
            await reviewer.close()
        assert status == 200

        def published(kb: KnowledgeBase) -> bool:
            referral = kb.referral("hong_kong")
            return referral is not None and referral.embassy_hotline == "+852 0000 1111"

        await _served(desk, published)
        worker = await desk.new_worker()
        await transcript(
            worker, "worker: help my employer beats me in hong kong\nbot: ~+852 0000 1111"
        )
    finally:
        await editor.close()


async def test_import_never_overwrites_a_console_edit_and_export_round_trips(
    desk: Chat, tmp_path: Path
) -> None:
    store: KBStore = desk.console.kb_store
    key = answer_key("wages", "hong_kong", "en")
    entry = await store.get(key)
    await store.save_draft(
        key, {**(entry.published or {}), "text": "Console text."}, "edi", entry.version
    )
    await store.publish(key, "edi", (await store.get(key)).version)
    report = await store.import_files()
    assert key in report.kept
    assert (await store.get(key)).published["text"] == "Console text."  # type: ignore[index]
    assert (await store.export_files(tmp_path)) >= 9
    exported = yaml.safe_load((tmp_path / "topics" / "wages.yml").read_text())
    assert exported["answers"]["hong_kong"]["en"]["text"] == "Console text."
    # The exported files hold exactly what is published: importing them changes nothing.
    report = await store.import_files(tmp_path)
    assert report.kept == [] and report.added == report.updated == 0
    forced = await store.import_files(force=True)
    assert key not in forced.kept
    assert (await store.get(key)).published["text"] != "Console text."  # type: ignore[index]


async def test_editors_propose_examples_and_the_cli_exports_them(
    desk: Chat, tmp_path: Path
) -> None:
    editor = await _editor(desk)
    admin = await Operator.signed_in(desk, "adm", Role.ADMIN)
    try:
        form = {"intent": "complaint_agency", "lang": "id", "text": "gaji sy dipotong trs sm agen"}
        status, page, _ = await editor.post("/console/content/examples", form)
        assert status == 200 and "gaji sy dipotong trs sm agen" in page
        status, _page, _ = await editor.post("/console/content/examples", {**form, "text": ""})
        assert status == 422
        page = (await admin.get("/console/content/examples"))[1]
        assert "helpline nlu export-examples" in page and "/examples/export" not in page
        assert not (tmp_path / "nlu").exists()
        # What `helpline nlu export-examples` runs.
        store = desk.console.proposals
        await store.add(Proposal("complaint_agency", "id", "agen ambil paspor sy", "edi"))
        assert await export_proposed(store, tmp_path) == 2
        written = yaml.safe_load((tmp_path / "nlu" / "id" / "proposed.yml").read_text())
        assert written["nlu"] == [
            {
                "intent": "complaint_agency",
                "examples": "- gaji sy dipotong trs sm agen\n- agen ambil paspor sy\n",
            }
        ]
        assert await store.all() == []
        # A second export adds nothing twice.
        await store.add(Proposal("complaint_agency", "id", "agen ambil paspor sy", "edi"))
        assert await export_proposed(store, tmp_path) == 1
        again = yaml.safe_load((tmp_path / "nlu" / "id" / "proposed.yml").read_text())
        assert again == written
    finally:
        await editor.close()
        await admin.close()
