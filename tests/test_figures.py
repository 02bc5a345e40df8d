"""Figures as data (issue 23): every amount, limit or number an answer states lives once in
kb/figures.yml; answers render as they did before; figures past their review date are
found by `helpline kb check` (failing with --strict) and shown to editors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.kb import GENERAL, KB_DIR, Figure, KnowledgeBase, figure_of, fill, fill_money
from bot.kb_cli import kb_check
from bot.store.kb_store import KBStore, answer_key, figure_key
from bot.store.users import Role
from tests.chat import Chat
from tests.console import Operator

PLACEHOLDER = re.compile(r"\{figure:(\w+)\}")
TODAY = dt.date(2027, 3, 1)
FAR = "2099-01-01"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def test_every_figure_placeholder_resolves(kb: KnowledgeBase) -> None:
    named = {f for a in kb.answers.values() for f in PLACEHOLDER.findall(a.text)}
    assert named and named <= set(kb.figures), named - set(kb.figures)
    assert set(kb.figures) <= named, f"figures no answer states: {set(kb.figures) - named}"
    for topic, country, lang in kb.answers:
        answer = kb.answer(topic, country, lang)
        assert answer is not None and "{figure" not in answer.text, (topic, country, lang)
    assert [p for p in kb.check() if p.startswith("figures/")] == []


def test_every_figure_has_its_source_and_review_dates(kb: KnowledgeBase) -> None:
    for figure in kb.figures.values():
        assert figure.source_name and figure.checked and figure.next_review, figure.id
        assert figure.kind != "money" or figure.currency, figure.id


# What the answers said before their figures became placeholders: the amount or number
# they wrote, rendered the old way.
BEFORE = [
    ("wages", "hong_kong", "id", "hk_minimum_allowable_wage", "{money:HKD:5100}", "HK$5.100"),
    ("wages", "hong_kong", "en", "hk_minimum_allowable_wage", "{money:HKD:5100}", "HK$5,100"),
    ("wages", "taiwan", "en", "tw_minimum_wage", "{money:TWD:29500}", "NT$29,500"),
    ("wages", "taiwan", "id", "tw_minimum_wage", "{money:TWD:29500}", "NT$29.500"),
    (
        "health",
        "singapore",
        "en",
        "sg_mdw_personal_accident_insurance_minimum",
        "{money:SGD:60000}",
        "S$60,000",
    ),
    ("recruitment_fees", "hong_kong", "en", "hk_agency_commission_cap", "10", "at most 10%"),
    ("wages", GENERAL, "id", "kp2mi_call_center", "+62 21 2924 4800", "+62 21 2924 4800"),
    ("legal_help", "taiwan", "en", "tw_1955_hotline", "1955", "through the 1955 hotline"),
]


@pytest.mark.parametrize(("topic", "country", "lang", "figure", "old", "shown"), BEFORE)
def test_answers_read_as_before(
    kb: KnowledgeBase, topic: str, country: str, lang: str, figure: str, old: str, shown: str
) -> None:
    answer = kb.answer(topic, country, lang)
    assert answer is not None
    stored = kb.answers[(topic, country, lang)]
    assert f"{{figure:{figure}}}" in stored.text
    referral = kb.referrals.get(country) or kb.referrals["indonesia"]
    # The text as it was stored before, rendered as it was rendered before.
    old_text = PLACEHOLDER.sub(
        lambda m: old if m.group(1) == figure else kb.figures[m.group(1)].render(lang),
        stored.text,
    )
    assert answer.text == fill_money(fill(old_text, referral.values()), lang)
    assert shown in answer.text
    assert (answer.source, answer.reviewed) == (stored.source, stored.reviewed)
    # New: when the figures were checked, for the worker next to the source.
    named = re.findall(r"\{figure:(\w+)\}", stored.text)
    assert answer.figures_checked == min(kb.figures[f].checked for f in named)  # the oldest


def test_the_editors_preview_renders_figures(kb: KnowledgeBase) -> None:
    text = "{figure:hk_minimum_allowable_wage}, {labour_phone}, {figure:hk_agency_commission_cap}%"
    assert kb.render(text, "hong_kong", "id") == "HK$5.100, 2157 9537, 10%"


def test_an_answer_without_figures_has_no_checked_date(kb: KnowledgeBase) -> None:
    answer = kb.answer("documents", "hong_kong", "en")
    assert answer is not None and answer.figures_checked == ""


def test_the_check_flags_an_unknown_figure(kb: KnowledgeBase) -> None:
    answers = dict(kb.answers)
    key = ("wages", "taiwan", "en")
    answers[key] = dataclasses.replace(answers[key], text="It is {figure:tw_minimum_wag} now.")
    problems = KnowledgeBase(answers, kb.titles, kb.referrals, kb.figures).check()
    assert problems == ["wages/taiwan/en: unknown figure(s) ['tw_minimum_wag']"]


def test_a_secondary_source_is_marked_explained_and_counted(kb: KnowledgeBase) -> None:
    """A figure only news or a law firm reported is marked so, says why in its note, and
    `kb check` counts such figures for editors to replace."""
    assert figure_of("x", {"source": {"name": "A paper", "secondary": True}}).secondary
    assert not figure_of("x", {"source": {"name": "MOM", "url": "https://mom.gov.sg"}}).secondary
    secondary = [f for f in kb.figures.values() if f.secondary]
    assert secondary and all(f.note for f in secondary), [f.id for f in secondary if not f.note]
    one = {
        fid: dataclasses.replace(f, secondary=fid == "kr_eps_topik_fee", next_review=FAR)
        for fid, f in kb.figures.items()
    }
    err = io.StringIO()
    kb_check(
        KnowledgeBase(kb.answers, kb.titles, kb.referrals, one),
        today=TODAY, out=io.StringIO(), err=err,
    )  # fmt: skip
    assert ", 1 on a secondary source, " in err.getvalue()


def test_the_check_flags_a_figure_without_source_or_dates(kb: KnowledgeBase) -> None:
    figures = dict(kb.figures)
    figures["tw_arc_fee"] = dataclasses.replace(
        figures["tw_arc_fee"], source_name="", next_review="soon"
    )
    problems = KnowledgeBase(kb.answers, kb.titles, kb.referrals, figures).check()
    assert problems == [
        "figures/tw_arc_fee: no source",
        "figures/tw_arc_fee: next_review is not a date (YYYY-MM-DD)",
    ]


def _reviewed_on(kb: KnowledgeBase, figure: str, when: str) -> KnowledgeBase:
    """The content with every figure reviewed far ahead except ``figure``."""
    figures: dict[str, Figure] = {
        fid: dataclasses.replace(f, next_review=when if fid == figure else FAR)
        for fid, f in kb.figures.items()
    }
    return KnowledgeBase(kb.answers, kb.titles, kb.referrals, figures)


def _check(kb: KnowledgeBase, strict: bool) -> tuple[int, str]:
    out = io.StringIO()
    code = kb_check(kb, today=TODAY, strict=strict, out=out, err=io.StringIO())
    return code, out.getvalue()


def test_kb_check_warns_within_30_days_of_a_review(kb: KnowledgeBase) -> None:
    soon = _reviewed_on(kb, "hk_minimum_allowable_wage", "2027-03-31")
    for strict in (False, True):
        code, out = _check(soon, strict)
        assert code == 0
        assert out == (
            "warning: figures/hk_minimum_allowable_wage: due for review on 2027-03-31 "
            "(in 30 days); value HKD 5100, checked 2026-12-06\n"
        )
    assert _check(_reviewed_on(kb, "hk_minimum_allowable_wage", "2027-04-01"), True) == (0, "")


def test_kb_check_fails_with_strict_after_the_review_date(kb: KnowledgeBase) -> None:
    late = _reviewed_on(kb, "tw_minimum_wage", "2027-01-01")
    code, out = _check(late, strict=False)
    assert code == 0 and out.startswith("warning: figures/tw_minimum_wage: past its review date")
    code, out = _check(late, strict=True)
    assert code == 1
    assert out == (
        "figures/tw_minimum_wage: past its review date 2027-01-01 (59 days ago); "
        "value TWD 29500, checked 2026-11-23\n"
    )


def _copy_kb(tmp_path: Path, **next_review: str) -> Path:
    """kb/ in a temporary folder, every figure reviewed far ahead but those named."""
    root = tmp_path / "kb"
    shutil.copytree(KB_DIR, root)
    path = root / "figures.yml"
    data = yaml.safe_load(path.read_text("utf-8"))
    for fid, figure in data["figures"].items():
        figure["next_review"] = next_review.get(fid, FAR)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return root


def test_the_command_takes_a_kb_folder_and_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy_kb(tmp_path, hk_minimum_allowable_wage="2000-01-01")
    assert main(["kb", "check", "--dir", str(root)]) == 0
    assert "warning: figures/hk_minimum_allowable_wage: past its review date" in (
        capsys.readouterr().out
    )
    assert main(["kb", "check", "--strict", "--dir", str(root)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("figures/hk_minimum_allowable_wage: past its review date 2000-01-01")


async def test_figures_travel_through_the_store_and_editors_see_those_due(
    desk: Chat, tmp_path: Path
) -> None:
    store: KBStore = desk.console.kb_store
    root = _copy_kb(tmp_path, hk_minimum_allowable_wage="2000-01-01")
    # A source address that is not a web page is shown, never linked.
    path = root / "figures.yml"
    data = yaml.safe_load(path.read_text("utf-8"))
    data["figures"]["tw_1925_hotline"]["source"]["url"] = "javascript:alert(1)"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    await store.import_files(root)
    served = await store.knowledge_base()
    assert served is not None and served.figures.keys() == KnowledgeBase.load().figures.keys()
    answer = served.answer("wages", "hong_kong", "en")
    assert answer is not None and "HK$5,100 a month" in answer.text
    editor = await Operator.signed_in(desk, "edi", Role.EDITOR)
    try:
        status, page = await editor.get("/console/content")
        assert status == 200 and "Figures due for review" in page
        row = re.search(r'<tr id="figure-hk_minimum_allowable_wage".*?</tr>', page, re.S)
        assert row is not None, page
        assert 'data-overdue="yes"' in row.group(0) and "overdue" in row.group(0)
        assert "HKD 5100" in row.group(0) and "2026-12-06" in row.group(0)
        assert "2000-01-01" in row.group(0)
        assert 'id="figure-tw_minimum_wage"' not in page
        # Figures resting on a secondary source, linked to it, for an editor to replace.
        row = re.search(r'<tr id="secondary-kr_eps_topik_fee".*?</tr>', page, re.S)
        assert row is not None and 'href="https://serayunews.com/' in row.group(0), page
        assert 'id="secondary-hk_minimum_allowable_wage"' not in page
        row = re.search(r'<tr id="secondary-tw_1925_hotline".*?</tr>', page, re.S)
        assert row is not None and "href" not in row.group(0) and "javascript" not in row.group(0)
        # An editor's answer may name figures, and only known ones.
        edit = "/console/content/answer/wages/hong_kong/en"
        for text, expected in (("{figure:hk_minimum_allowable_wage} a month.", 200),
                               ("{figure:hk_minimum_wage} a month.", 422)):  # fmt: skip
            version = re.findall(r'name="version" value="(\d+)"', (await editor.get(edit))[1])[0]
            form = {"text": text, "source": "HKSAR", "reviewed": "2026-12-01", "version": version}
            status, page, _ = await editor.post(f"{edit}/save", form)
            assert status == expected, page
        assert "unknown figure(s) [&#39;hk_minimum_wage&#39;]" in page
    finally:
        await editor.close()
    exported = tmp_path / "exported"
    await store.export_files(exported)
    figures = yaml.safe_load((exported / "figures.yml").read_text("utf-8"))["figures"]
    assert figures["hk_minimum_allowable_wage"]["next_review"] == "2000-01-01"


def _with_figure(root: Path, figure_id: str, present: bool) -> None:
    """kb/figures.yml under ``root`` with or without a figure copied from tw_arc_fee."""
    path = root / "figures.yml"
    data = yaml.safe_load(path.read_text("utf-8"))
    if present:
        data["figures"][figure_id] = dict(data["figures"]["tw_arc_fee"])
    else:
        data["figures"].pop(figure_id, None)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")


async def test_a_figure_gone_from_the_file_leaves_the_store_unless_an_answer_names_it(
    desk: Chat, tmp_path: Path
) -> None:
    """Figures are edited in the file only: an import removes one the file no longer has
    (an editor would otherwise be asked forever to review a figure nothing states), but
    keeps it while an answer edited in the console still names it."""
    store: KBStore = desk.console.kb_store
    root = _copy_kb(tmp_path)
    _with_figure(root, "tw_old_fee", present=True)
    await store.import_files(root)
    assert (await store.get(figure_key("tw_old_fee"))).published is not None
    _with_figure(root, "tw_old_fee", present=False)
    report = await store.import_files(root)
    assert report.removed == [figure_key("tw_old_fee")] and report.still_named == []
    assert figure_key("tw_old_fee") not in await store.all()
    served = await store.knowledge_base()
    assert served is not None and "tw_old_fee" not in served.figures

    # An answer edited in the console names it: removing it would leave "{figure:...}".
    _with_figure(root, "tw_old_fee", present=True)
    await store.import_files(root)
    key = answer_key("documents", "taiwan", "en")
    entry = await store.get(key)
    text = "The old fee was {figure:tw_old_fee}."
    await store.save_draft(key, {**(entry.published or {}), "text": text}, "edi", entry.version)
    await store.publish(key, "edi", (await store.get(key)).version)
    _with_figure(root, "tw_old_fee", present=False)
    report = await store.import_files(root)
    assert report.removed == [] and report.still_named == [figure_key("tw_old_fee")]
    served = await store.knowledge_base()
    answer = served.answer("documents", "taiwan", "en") if served else None
    assert answer is not None and "{figure" not in answer.text and "NT$" in answer.text
