"""The training data in nlu/: complete, in both languages, consistent."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
import yaml

from bot.nlu import countries
from bot.nlu.taxonomy import ALL_INTENTS, INTENTS_BY_CATEGORY, Category
from tests.nlu_data import LANGUAGES, NLU, key, load_examples, plain

EXAMPLES = load_examples()
MIN_PER_LANGUAGE = 40
STRICT_CATEGORIES = (Category.EMERGENCY, Category.COMPLAINT, Category.RIGHTS_QUESTION)


def counts() -> Counter[tuple[str, str]]:
    return Counter((e.intent, e.language) for e in EXAMPLES)


def test_only_taxonomy_intents() -> None:
    unknown = {e.intent for e in EXAMPLES} - set(ALL_INTENTS)
    assert not unknown


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("intent", ALL_INTENTS)
def test_every_intent_in_both_languages(intent: str, language: str) -> None:
    assert counts()[(intent, language)] >= 10


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("intent", [i for c in STRICT_CATEGORIES for i in INTENTS_BY_CATEGORY[c]])
def test_enough_examples_for_routing_intents(intent: str, language: str) -> None:
    distinct = {key(e.text) for e in EXAMPLES if e.intent == intent and e.language == language}
    assert len(distinct) >= MIN_PER_LANGUAGE


def test_no_example_under_two_intents() -> None:
    intents: dict[str, set[str]] = defaultdict(set)
    for e in EXAMPLES:
        intents[key(e.text)].add(e.intent)
    clashes = {text: found for text, found in intents.items() if len(found) > 1}
    assert not clashes


def test_no_duplicate_examples() -> None:
    seen = Counter(key(e.text) for e in EXAMPLES)
    assert [t for t, n in seen.items() if n > 1] == []


def test_indonesian_abbreviations_are_present() -> None:
    """Workers write "sy", "gk", "blm", "udh", "tdk", "sdh"; the data must too."""
    words = Counter(w for e in EXAMPLES if e.language == "id" for w in key(e.text).split())
    for abbreviation in ("sy", "gk", "blm", "udh", "tdk", "sdh", "majikan", "agen"):
        assert words[abbreviation] >= 3, abbreviation


def test_hard_negatives_stay_out_of_scope() -> None:
    """DESIGN.md's hard cases are taught as harmless, not as emergencies."""
    oos = " ".join(key(e.text) for e in EXAMPLES if e.intent == "out_of_scope")
    for phrase in ("tolong", "pukul", "mati ketawa"):
        assert phrase in oos, phrase


def test_country_annotations_name_countries() -> None:
    import re

    for e in EXAMPLES:
        for value in re.findall(r"\[([^\]]+)\]\(country\)", e.raw):
            assert countries.normalise(value), f"{e.file}: {value!r} is not a known country"


def test_country_synonyms_agree_with_the_bot() -> None:
    data = yaml.safe_load((NLU / "entities.yml").read_text("utf-8"))
    synonyms = {b["synonym"]: b["examples"] for b in data["nlu"] if "synonym" in b}
    assert set(synonyms) == set(countries.COUNTRIES)
    for country, block in synonyms.items():
        for line in block.splitlines():
            name = line.strip().removeprefix("- ")
            if name:
                assert countries.normalise(name) == country, name


def test_heldout_messages_are_never_trained_on() -> None:
    """tests/data/heldout.yml measures generalisation only if none of it is in nlu/."""
    heldout = yaml.safe_load((NLU.parent / "tests" / "data" / "heldout.yml").read_text("utf-8"))
    trained = {key(e.text) for e in EXAMPLES}
    overlap = [m["text"] for m in heldout["messages"] if key(plain(m["text"])) in trained]
    assert overlap == []


def test_heldout_intents_are_known_and_match_their_category() -> None:
    heldout = yaml.safe_load((NLU.parent / "tests" / "data" / "heldout.yml").read_text("utf-8"))
    category_of = {i: c.value for c, intents in INTENTS_BY_CATEGORY.items() for i in intents}
    wrong = [
        (m["text"], m.get("intent"), m["category"])
        for m in heldout["messages"]
        if category_of.get(m.get("intent", "")) != m["category"]
    ]
    assert wrong == []
