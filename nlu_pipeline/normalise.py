"""Word forms for the NLU features: informal spellings and affixes mapped to one form.

Workers write the same word many ways ("gk", "ga", "nggak", "tdk" for "tidak"; "sy",
"aq", "gw" for "saya") and Indonesian builds words with affixes ("dipukul", "memukul",
"pukulan" all carry "pukul"). With ~190 examples per intent the classifier cannot see
every form of every word, so the tokenizer gives each token a second form, its lemma,
which one of the featurizers counts instead of the raw word:

1. letters repeated three times or more are read once ("tolooong" -> "tolong"), and a
   trailing reduplication digit is dropped ("dipukul2" -> "dipukul");
2. a variant listed in slang.yml becomes its form ("gk" -> "tidak", "bos" -> "majikan");
3. otherwise a light, dictionary-free Indonesian stemmer strips particles, possessives,
   the passive/active prefixes and the common suffixes, restoring the first letter that
   meN- swallowed ("memukul" -> "pukul", "menyiksa" -> "siksa", "dikuncikan" -> "kunci"),
   and a few English endings ("locked" -> "lock"), each only when at least four
   letters are left.

The stemmer is deliberately rough: it only adds features beside the raw words and
their character n-grams, so a wrong stem costs a little signal, never a lost word.
This module imports nothing from Rasa so the bot's tests can check it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

SLANG_FILE = Path(__file__).with_name("slang.yml")
MIN_STEM = 4

_REPEATS = re.compile(r"(.)\1{2,}")
_TRAILING_DIGIT = re.compile(r"(?<=[a-z])2$")
_PARTICLES = ("lah", "kah", "pun", "nya", "ku", "mu")
# meN- and peN-: (prefix, letter it swallowed before a vowel, first letters it keeps).
# m+vowel was p, n+vowel was t, ny+vowel was s; ng+vowel is left as the vowel (k is as
# likely). Before the consonants listed, the prefix is simply dropped.
_NASAL_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("meny", "s", ""),
    ("peny", "s", ""),
    ("meng", "", "ghk"),
    ("peng", "", "ghk"),
    ("mem", "p", "bpf"),
    ("pem", "p", "bpf"),
    ("men", "t", "cdjt"),
    ("pen", "t", "cdjt"),
)
_PLAIN_PREFIXES = ("di", "ter", "ber", "per", "ke", "se", "me", "pe")
_VOWELS = frozenset("aeiou")


def load_variants(path: Path = SLANG_FILE) -> dict[str, str]:
    """variant -> form, from slang.yml; every form also maps to itself."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of form -> list of variants")
    variants: dict[str, str] = {}
    for form, spellings in data.items():
        if not isinstance(form, str) or not isinstance(spellings, list):
            raise ValueError(f"{path}: {form!r} must map to a list of variants")
        for spelling in [form, *spellings]:
            if not isinstance(spelling, str):
                raise ValueError(f"{path}: {spelling!r} under {form!r} is not text (quote it)")
            key = spelling.lower()
            if variants.get(key, form) != form:
                raise ValueError(f"{path}: {key!r} is listed under {variants[key]!r} and {form!r}")
            variants[key] = form
    return variants


_VARIANTS = load_variants()


def _strip_prefix(word: str) -> str:
    for prefix, swallowed, kept in _NASAL_PREFIXES:
        if word.startswith(prefix):
            rest = word[len(prefix) :]
            if rest[:1] in _VOWELS and len(swallowed + rest) >= MIN_STEM:
                return swallowed + rest
            if rest[:1] and rest[0] in kept and len(rest) >= MIN_STEM:
                return rest
    for prefix in _PLAIN_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= MIN_STEM:
            rest = word[len(prefix) :]
            if prefix in ("me", "pe") and rest[:1] not in ("l", "r", "w", "y", "m", "n"):
                continue
            return rest
    return word


def _strip_suffix(word: str, prefixed: bool) -> str:
    for suffix in ("kan", "an"):
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    if prefixed and word.endswith("i") and len(word) - 1 >= MIN_STEM:
        return word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def stem(word: str) -> str:
    """A rough stem of one lower-case word (see the module docstring)."""
    for particle in _PARTICLES:
        if word.endswith(particle) and len(word) - len(particle) >= MIN_STEM:
            word = word[: -len(particle)]
            break
    if word in _VARIANTS:
        return _VARIANTS[word]
    unprefixed = _strip_prefix(word)
    if unprefixed in _VARIANTS:
        return _VARIANTS[unprefixed]
    stemmed = _strip_suffix(unprefixed, prefixed=unprefixed != word)
    return _VARIANTS.get(stemmed, stemmed)


@lru_cache(maxsize=65536)
def lemma(token: str) -> str:
    """The form the NLU's lemma featurizer counts for one token as written."""
    word = token.lower().strip("'\".,!?;:()[]{}-_*~")
    if not word:
        return token.lower()
    word = _REPEATS.sub(r"\1", word)
    word = _TRAILING_DIGIT.sub("", word)
    if word in _VARIANTS:
        return _VARIANTS[word]
    if not word.isalpha():
        return word
    return stem(word)
