"""The word forms the NLU's lemma featurizer counts (nlu_pipeline/normalise.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu_pipeline.normalise import SLANG_FILE, lemma, load_variants


@pytest.mark.parametrize(
    ("written", "form"),
    [
        # abbreviations and informal spellings
        ("gk", "tidak"),
        ("nggak", "tidak"),
        ("tdk", "tidak"),
        ("sy", "saya"),
        ("udh", "sudah"),
        ("blm", "belum"),
        # employer words share one form, in both languages
        ("nyonyaku", "majikan"),
        ("bos", "majikan"),
        ("madam", "majikan"),
        # letters stretched for emphasis, reduplication written with a 2
        ("tolooong", "tolong"),
        ("sakiiit", "sakit"),
        ("dipukul2", "pukul"),
        # affixes: passive, active (with the swallowed first letter restored), nouns
        ("dipukul", "pukul"),
        ("memukul", "pukul"),
        ("pukulan", "pukul"),
        ("dipukuli", "pukul"),
        ("disiksa", "siksa"),
        ("menyiksa", "siksa"),
        ("ditendang", "tendang"),
        ("menendang", "tendang"),
        ("diperkosa", "perkosa"),
        ("memperkosa", "perkosa"),
        ("dikunci", "kunci"),
        ("terkunci", "kunci"),
        ("kelaparan", "lapar"),
        ("paspornya", "paspor"),
        # English endings and English words that share an Indonesian form
        ("locked", "kunci"),
        ("beaten", "pukul"),
        ("passport", "paspor"),
    ],
)
def test_lemma(written: str, form: str) -> None:
    assert lemma(written) == form


@pytest.mark.parametrize("word", ["makan", "bulan", "pukul", "mandi", "pusing", "diri", "berapa"])
def test_short_roots_are_left_whole(word: str) -> None:
    """A suffix or prefix is stripped only when four letters are left."""
    assert lemma(word) == word


@pytest.mark.parametrize("token", ["", "   ", "😭😭", "救命", "!!!", "x" * 10_000, "10.000", "@#&"])
def test_any_token_gets_a_lemma(token: str) -> None:
    assert isinstance(lemma(token), str)


def test_slang_file_has_each_variant_under_one_form() -> None:
    variants = load_variants(SLANG_FILE)
    assert variants["gk"] == "tidak"
    assert all(form == variants[form] for form in set(variants.values()))


def test_a_variant_under_two_forms_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "slang.yml"
    bad.write_text("tidak: [gk, ga]\nbelum: [blm, ga]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'ga'"):
        load_variants(bad)


def test_unquoted_yaml_booleans_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "slang.yml"
    bad.write_text("tidak: [gk, no]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="quote it"):
        load_variants(bad)
