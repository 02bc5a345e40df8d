"""The knowledge base: reviewed answers per topic x country x language, and referrals.

Seeded from kb/ (topics/<topic>.yml, referrals.yml). Every entry carries its source and
a last-reviewed date; figures nobody has re-checked are marked unverified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from babel.numbers import format_decimal

from bot.nlu.countries import COUNTRIES

KB_DIR = Path(__file__).resolve().parents[1] / "kb"
LANGUAGES = ("id", "en")
GENERAL = "general"
TOPICS = (
    "wages",
    "rest_day",
    "contract",
    "documents",
    "recruitment_fees",
    "health",
    "going_home",
    "legal_help",
)
PLACEHOLDERS = frozenset(
    {"embassy_name", "embassy_hotline", "emergency_number", "labour_department", "labour_phone"}
)
CHAT_LIMIT = 4096
INTERACTIVE_LIMIT = 1024
_FIELD = re.compile(r"\{(\w*)\}")
# An amount of money, formatted by Babel in the reader's language: {money:HKD:5100}.
_MONEY = re.compile(r"\{money:([A-Z]{3}):(\d+(?:\.\d+)?)\}")


@dataclass(frozen=True)
class Answer:
    text: str
    source: str
    reviewed: str
    unverified: bool


@dataclass(frozen=True)
class Referral:
    country: str
    names: dict[str, str]
    emergency_number: str
    embassy_name: str
    embassy_hotline: str
    labour_department: str
    labour_phone: str
    partners: list[dict[str, Any]] = field(default_factory=list)
    embassy_whatsapp: str = ""
    # The mental-health crisis line: who, the number, when it answers.
    crisis_line_name: str = ""
    crisis_line: str = ""
    crisis_line_hours: str = ""

    def values(self) -> dict[str, str]:
        return {
            "embassy_name": self.embassy_name,
            "embassy_hotline": self.embassy_hotline,
            "emergency_number": self.emergency_number,
            "labour_department": self.labour_department,
            "labour_phone": self.labour_phone,
        }


def _entry(data: dict[str, Any]) -> Answer:
    return Answer(
        text=str(data.get("text", "")).strip(),
        source=str(data.get("source", "")),
        reviewed=str(data.get("reviewed", "")),
        unverified=bool(data.get("unverified", False)),
    )


class KnowledgeBase:
    def __init__(
        self,
        answers: dict[tuple[str, str, str], Answer],
        titles: dict[str, dict[str, str]],
        referrals: dict[str, Referral],
    ) -> None:
        self.answers, self.titles, self.referrals = answers, titles, referrals

    @classmethod
    def load(cls, root: Path = KB_DIR) -> KnowledgeBase:
        """From the seed files: kb/topics/*.yml and kb/referrals.yml."""
        topics = [
            yaml.safe_load(path.read_text("utf-8"))
            for path in sorted((root / "topics").glob("*.yml"))
        ]
        ref_path = root / "referrals.yml"
        countries: dict[str, Any] = {}
        if ref_path.exists():
            countries = yaml.safe_load(ref_path.read_text("utf-8")).get("countries") or {}
        return cls.from_data(topics, countries)

    @classmethod
    def from_data(cls, topics: list[dict[str, Any]], countries: dict[str, Any]) -> KnowledgeBase:
        """From topic documents and the referral directory, in the kb/ files' shapes."""
        answers: dict[tuple[str, str, str], Answer] = {}
        titles: dict[str, dict[str, str]] = {}
        for data in topics:
            topic = data["topic"]
            titles[topic] = dict(data.get("title") or {})
            for country, by_lang in (data.get("answers") or {}).items():
                for lang, entry in (by_lang or {}).items():
                    answers[(topic, country, lang)] = _entry(entry or {})
        referrals = {country: referral_of(country, info) for country, info in countries.items()}
        return cls(answers, titles, referrals)

    def replace(self, other: KnowledgeBase) -> None:
        """Take another's content in place: everything holding this object sees it at once."""
        self.answers, self.titles, self.referrals = other.answers, other.titles, other.referrals

    def title(self, topic: str, lang: str) -> str:
        names = self.titles.get(topic, {})
        return names.get(lang) or names.get("en") or topic

    def answer(self, topic: str, country: str | None, lang: str) -> Answer | None:
        """The country's answer, else the general one, placeholders filled in."""
        for key in ((topic, country or GENERAL, lang), (topic, GENERAL, lang)):
            found = self.answers.get(key)
            if found:
                referral = self.referrals.get(key[1]) or self.referrals.get("indonesia")
                return Answer(
                    text=fill_money(
                        fill(found.text, referral.values() if referral else {}), key[2]
                    ),
                    source=found.source,
                    reviewed=found.reviewed,
                    unverified=found.unverified,
                )
        return None

    def referral(self, country: str | None) -> Referral | None:
        return self.referrals.get(country or "") if country else None

    def check(self) -> list[str]:
        """Everything wrong with the content; empty when it is fit to serve."""
        problems: list[str] = []
        for topic in TOPICS:
            for country in (GENERAL, *COUNTRIES):
                for lang in LANGUAGES:
                    entry = self.answers.get((topic, country, lang))
                    where = f"{topic}/{country}/{lang}"
                    if entry is None or not entry.text:
                        problems.append(f"{where}: missing")
                        continue
                    problems += [f"{where}: {p}" for p in _check_entry(entry)]
        for country in COUNTRIES:
            ref = self.referrals.get(country)
            if ref is None:
                problems.append(f"referrals/{country}: missing")
                continue
            if not ref.emergency_number.strip():
                problems.append(f"referrals/{country}: no emergency number")
            if not ref.embassy_hotline.strip():
                problems.append(f"referrals/{country}: no embassy hotline")
            if not ref.crisis_line.strip():
                problems.append(f"referrals/{country}: no crisis line (mental health)")
        anywhere = self.referrals.get("indonesia")
        if anywhere is None or not is_number(anywhere.embassy_hotline):
            problems.append("referrals/indonesia: no hotline that works from anywhere")
        return problems


class ProblemKind(StrEnum):
    """What kind of problem an answer has: what an editor's form shows it next to."""

    EMPTY = "empty"
    PLACEHOLDER = "placeholder"  # unknown or broken, money placeholders included
    TOO_LONG = "too_long"
    NO_SOURCE = "no_source"
    NO_REVIEWED = "no_reviewed"


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    # For people reading `helpline kb check`: in English, with the details.
    message: str

    def __str__(self) -> str:
        return self.message


def _check_entry(entry: Answer) -> list[Problem]:
    problems = []
    names = set(_FIELD.findall(entry.text))
    unknown = names - PLACEHOLDERS
    if unknown:
        problems.append(
            Problem(ProblemKind.PLACEHOLDER, f"unknown placeholder(s) {sorted(unknown)}")
        )
    for currency, _amount in _MONEY.findall(entry.text):
        if currency not in CURRENCY_SYMBOLS:
            problems.append(
                Problem(
                    ProblemKind.PLACEHOLDER,
                    f"unknown currency {currency} in a money placeholder",
                )
            )
    stray = _FIELD.sub("", _MONEY.sub("", entry.text))
    if "{" in stray or "}" in stray:
        problems.append(
            Problem(
                ProblemKind.PLACEHOLDER, "broken placeholder: a brace without a {name} around it"
            )
        )
    # Filled with the longest plausible values, the text must still fit the channels.
    longest = {name: "x" * 60 for name in PLACEHOLDERS}
    size = len(fill(fill_money(entry.text, "en"), longest))
    if size > INTERACTIVE_LIMIT:
        problems.append(
            Problem(
                ProblemKind.TOO_LONG,
                f"{size} characters, over the {INTERACTIVE_LIMIT} of a WhatsApp body",
            )
        )
    if not entry.source:
        problems.append(Problem(ProblemKind.NO_SOURCE, "no source"))
    if not entry.reviewed:
        problems.append(Problem(ProblemKind.NO_REVIEWED, "no last-reviewed date"))
    return problems


def fill(text: str, values: dict[str, str]) -> str:
    """Placeholders replaced; an unknown one is left as it is rather than raising."""
    return _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), text)


# The symbols workers know (Babel's own for MYR and SGD would be "MYR" and "SGD").
CURRENCY_SYMBOLS = {
    "HKD": "HK$",
    "TWD": "NT$",
    "MYR": "RM",
    "SGD": "S$",
    "SAR": "SAR ",
    "IDR": "Rp",
    "USD": "US$",
}


def fill_money(text: str, lang: str) -> str:
    """Money placeholders as amounts in the reader's number format (HK$5,100 / HK$5.100)."""

    def money(match: re.Match[str]) -> str:
        currency, amount = match.group(1), Decimal(match.group(2))
        symbol = CURRENCY_SYMBOLS.get(currency, currency + " ")
        pattern = "#,##0" if amount == amount.to_integral_value() else "#,##0.00"
        return symbol + format_decimal(amount, format=pattern, locale=lang)

    return _MONEY.sub(money, text)


def referral_of(country: str, info: dict[str, Any]) -> Referral:
    embassy = info.get("embassy") or {}
    labour = info.get("labour_department") or {}
    crisis = info.get("crisis_line") or {}
    return Referral(
        country=country,
        names=dict(info.get("name") or {}),
        emergency_number=str((info.get("emergency_number") or {}).get("number", "")),
        embassy_name=str(embassy.get("name", "")),
        embassy_hotline=str(embassy.get("hotline", "")),
        labour_department=str(labour.get("name", "")),
        labour_phone=str(labour.get("phone", "")),
        partners=list(info.get("partners") or []),
        embassy_whatsapp=str(embassy.get("whatsapp", "") or ""),
        crisis_line_name=str(crisis.get("name", "") or ""),
        crisis_line=str(crisis.get("number", "") or ""),
        crisis_line_hours=str(crisis.get("hours", "") or ""),
    )


_DIGITS = re.compile(r"\d")


def is_number(text: str) -> bool:
    """A phone number someone can dial, not "number not yet verified"."""
    return len(_DIGITS.findall(text)) >= 3


@dataclass(frozen=True)
class Checklist:
    """What an operator keeps in mind in a conversation of one kind, from a cited source."""

    title: dict[str, str]
    items: list[dict[str, str]]
    source: str
    reviewed: str


def self_harm_checklist(root: Path = KB_DIR) -> Checklist | None:
    """The checklist for talking with a worker at risk of self-harm (kb/self_harm_checklist.yml)."""
    path = root / "self_harm_checklist.yml"
    if not path.exists():
        return None
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    return Checklist(
        title=dict(data.get("title") or {}),
        items=[dict(i) for i in data.get("items") or []],
        source=str(data.get("source", "")),
        reviewed=str(data.get("reviewed", "")),
    )


def entry_problems(entry: Answer) -> list[Problem]:
    """What is wrong with one answer (empty when it may be published)."""
    if not entry.text.strip():
        return [Problem(ProblemKind.EMPTY, "empty text")]
    return _check_entry(entry)
