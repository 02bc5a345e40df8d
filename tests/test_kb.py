"""The knowledge base: the seed content passes its own check, the check finds what is
wrong, and amounts of money are written the way the reader's language writes them."""

from __future__ import annotations

import dataclasses

import pytest

from bot.kb import Answer, KnowledgeBase, fill_money


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def test_the_seed_content_passes_the_check(kb: KnowledgeBase) -> None:
    assert kb.check() == []


def test_amounts_follow_the_readers_language(kb: KnowledgeBase) -> None:
    assert fill_money("{money:HKD:5100} / {money:MYR:1700.5}", "en") == "HK$5,100 / RM1,700.50"
    assert fill_money("{money:HKD:5100} / {money:MYR:1700.5}", "id") == "HK$5.100 / RM1.700,50"
    indonesian = kb.answer("wages", "hong_kong", "id")
    english = kb.answer("wages", "hong_kong", "en")
    assert indonesian is not None and english is not None
    assert "HK$5.100" in indonesian.text and "HK$5,100" in english.text
    assert "{money" not in indonesian.text + english.text


def _with(kb: KnowledgeBase, text: str, **changes: object) -> KnowledgeBase:
    answers = dict(kb.answers)
    old = answers[("wages", "taiwan", "en")]
    answers[("wages", "taiwan", "en")] = dataclasses.replace(old, text=text, **changes)  # type: ignore[arg-type]
    return KnowledgeBase(answers, kb.titles, kb.referrals, kb.figures)


@pytest.mark.parametrize(
    ("text", "changes", "problem"),
    [
        ("Call {embasy_hotline}.", {}, "unknown placeholder"),
        ("Call {embassy_hotline.", {}, "broken placeholder"),
        ("It is {money:XYZ:100}.", {}, "unknown currency"),
        ("A short sentence. " * 62, {}, "over the 1024"),
        ("x" * 800, {}, "one phone screen"),
        ("Fine text.", {"source": ""}, "no source"),
        ("Fine text.", {"reviewed": ""}, "no last-reviewed date"),
    ],
)
def test_the_check_finds_what_is_wrong(
    kb: KnowledgeBase, text: str, changes: dict[str, object], problem: str
) -> None:
    problems = _with(kb, text, **changes).check()
    assert len(problems) == 1 and problem in problems[0], problems
    assert problems[0].startswith("wages/taiwan/en")


def test_a_missing_language_is_reported(kb: KnowledgeBase) -> None:
    answers: dict[tuple[str, str, str], Answer] = dict(kb.answers)
    del answers[("health", "malaysia", "id")]
    assert KnowledgeBase(answers, kb.titles, kb.referrals, kb.figures).check() == [
        "health/malaysia/id: missing"
    ]


def test_topic_titles_fit_a_whatsapp_list_row() -> None:
    """Topic titles are the buttons of a topic group; WhatsApp cuts a list row at 24."""
    from bot.channels.whatsapp.convert import ROW_TITLE
    from bot.kb import TOPICS, KnowledgeBase

    kb = KnowledgeBase.load()
    long = [(t, lang, kb.title(t, lang)) for t in TOPICS for lang in ("id", "en")
            if len(kb.title(t, lang)) > ROW_TITLE]  # fmt: skip
    assert long == []
