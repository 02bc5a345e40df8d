"""The knowledge base: reviewed answers per topic x country x language, and referrals.

Seeded from kb/ (topics/<topic>.yml, referrals.yml, figures.yml). Every entry carries its
source and a last-reviewed date; figures nobody has re-checked are marked unverified. The
amounts, limits and numbers the answers state live once, in figures.yml, each with its own
source and review dates; answers write {figure:<id>}.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
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
# Topics in the groups the worker chooses from (a button per group, then per topic).
TOPIC_GROUPS: dict[str, tuple[str, ...]] = {
    "work": ("wages", "rest_day", "working_hours", "contract", "termination"),
    "papers": ("documents", "recruitment_fees", "agency_check", "scam_jobs", "undocumented"),
    "health": ("health", "maternity", "harassment", "mental_health"),
    "money": ("debts", "social_security", "going_home", "death_abroad", "legal_help"),
    "family": ("families", "before_you_leave"),
}
TOPICS = tuple(topic for group in TOPIC_GROUPS.values() for topic in group)
# Topics whose answer is the same wherever the worker is (Indonesian law and services,
# or advice that does not depend on a country's law): a general answer is required, a
# country's only where it adds something. Every other topic needs every country's.
GENERAL_TOPICS = frozenset(
    {
        "agency_check",
        "scam_jobs",
        "harassment",
        "mental_health",
        "debts",
        "social_security",
        "undocumented",
        "death_abroad",
        "families",
        "before_you_leave",
    }
)
PLACEHOLDERS = frozenset(
    {"embassy_name", "embassy_hotline", "emergency_number", "labour_department", "labour_phone"}
)
CHAT_LIMIT = 4096
INTERACTIVE_LIMIT = 1024
# What one phone screen shows of a chat bubble (about 20 lines of 35 characters at
# 390 px): an answer longer than this goes out in parts, each behind a "More" button.
SCREEN_CHARS = 700
SHORT_SOURCE_CHARS = 70
_FIELD = re.compile(r"\{(\w*)\}")
# An amount of money, formatted by Babel in the reader's language: {money:HKD:5100}.
_MONEY = re.compile(r"\{money:([A-Z]{3}):(\d+(?:\.\d+)?)\}")
# A figure from kb/figures.yml: {figure:hk_minimum_allowable_wage}.
_AMOUNT = re.compile(r"\d+(?:\.\d+)?")
_FIGURE = re.compile(r"\{figure:(\w+)\}")
# A figure's next review is announced this many days ahead (`helpline kb check`, the console).
REVIEW_WARNING_DAYS = 30


@dataclass(frozen=True)
class Answer:
    text: str
    source: str
    reviewed: str
    unverified: bool
    # When the figures the text states were last checked (ISO date, the oldest of them);
    # empty when it states none. For the worker, next to the source.
    figures_checked: str = ""


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


@dataclass(frozen=True)
class Figure:
    """An amount, limit or number an answer states (kb/figures.yml), with where it comes
    from and when it must be checked again: figures are what goes stale."""

    id: str
    value: str
    kind: str  # money, percent, hours, days, months, years, fraction, number, phone
    currency: str = ""  # money only: HKD, TWD, MYR, SGD, SAR...
    effective: str = ""  # the date the value applies from, when known
    source_name: str = ""
    source_url: str = ""  # empty: the source cited has no address
    # The source only reports the figure (news, a law firm, an agency, a copy of the law):
    # no page of the authority itself stated it. An editor replaces it when one is found.
    secondary: bool = False
    checked: str = ""
    next_review: str = ""
    unverified: bool = False
    note: str = ""

    def render(self, lang: str) -> str:
        """As the answer shows it: money in the reader's number format, else the value."""
        if self.kind == "money":
            return format_money(self.currency, Decimal(self.value), lang)
        return self.value

    def problems(self) -> list[str]:
        found = []
        if not self.value.strip():
            found.append("no value")
        if self.kind not in FIGURE_KINDS:
            found.append(f"unknown kind {self.kind!r}")
        if self.kind == "money" and (
            self.currency not in CURRENCY_SYMBOLS or not _AMOUNT.fullmatch(self.value)
        ):
            found.append(
                f"money needs a known currency and an amount: {self.currency} {self.value}"
            )
        if not self.source_name.strip():
            found.append("no source")
        for name in ("checked", "next_review") + (("effective",) if self.effective else ()):
            if _date(getattr(self, name)) is None:
                found.append(f"{name} is not a date (YYYY-MM-DD)")
        return found


FIGURE_KINDS = frozenset(
    {"money", "percent", "hours", "days", "months", "years", "fraction", "number", "phone"}
)


@dataclass(frozen=True)
class FigureReview:
    """A figure whose next review is near (``days_left`` >= 0) or past (overdue)."""

    figure: Figure
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


def figure_of(figure_id: str, data: dict[str, Any]) -> Figure:
    source = data.get("source") or {}
    if not isinstance(source, dict):
        source = {"name": source}
    return Figure(
        id=figure_id,
        value=_text(data.get("value")),
        kind=_text(data.get("kind")),
        currency=_text(data.get("currency")),
        effective=_text(data.get("effective")),
        source_name=_text(source.get("name")),
        source_url=_text(source.get("url")),
        secondary=bool(source.get("secondary", False)),
        checked=_text(data.get("checked")),
        next_review=_text(data.get("next_review")),
        unverified=bool(data.get("unverified", False)),
        note=_text(data.get("note")),
    )


def figures_of(data: dict[str, Any]) -> dict[str, Figure]:
    """figures.yml's "figures" mapping (``load_figures``) as Figures, by id."""
    return {fid: figure_of(fid, entry or {}) for fid, entry in data.items()}


def _text(value: Any) -> str:
    """A YAML scalar as text (dates as YYYY-MM-DD); nothing as ""."""
    return "" if value is None else str(value).strip()


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def figures_due(
    figures: dict[str, Figure], today: dt.date, within_days: int = REVIEW_WARNING_DAYS
) -> list[FigureReview]:
    """Figures past their next review date or within ``within_days`` of it, soonest first."""
    due = []
    for figure in figures.values():
        when = _date(figure.next_review)
        if when is not None and (when - today).days <= within_days:
            due.append(FigureReview(figure, (when - today).days))
    return sorted(due, key=lambda r: (r.days_left, r.figure.id))


def fill_figures(text: str, figures: dict[str, Figure], lang: str) -> str:
    """Figure placeholders as the answer shows them; an unknown one is left as it is."""

    def value(match: re.Match[str]) -> str:
        found = figures.get(match.group(1))
        return found.render(lang) if found else match.group(0)

    return _FIGURE.sub(value, text)


def figures_named(text: str) -> set[str]:
    """The ids of the figures a text's placeholders name."""
    return set(_FIGURE.findall(text))


def figures_checked(text: str, figures: dict[str, Figure]) -> str:
    """The oldest checked date of the figures a text states ("" when it states none)."""
    dates = [figures[f].checked for f in figures_named(text) if f in figures]
    return min(dates, default="")


class KnowledgeBase:
    def __init__(
        self,
        answers: dict[tuple[str, str, str], Answer],
        titles: dict[str, dict[str, str]],
        referrals: dict[str, Referral],
        figures: dict[str, Figure] | None = None,
    ) -> None:
        self.answers, self.titles, self.referrals = answers, titles, referrals
        self.figures: dict[str, Figure] = figures or {}

    @classmethod
    def load(cls, root: Path = KB_DIR) -> KnowledgeBase:
        """From the seed files: kb/topics/*.yml, kb/referrals.yml and kb/figures.yml."""
        topics = [
            yaml.safe_load(path.read_text("utf-8"))
            for path in sorted((root / "topics").glob("*.yml"))
        ]
        ref_path = root / "referrals.yml"
        countries: dict[str, Any] = {}
        if ref_path.exists():
            countries = yaml.safe_load(ref_path.read_text("utf-8")).get("countries") or {}
        return cls.from_data(topics, countries, load_figures(root))

    @classmethod
    def from_data(
        cls,
        topics: list[dict[str, Any]],
        countries: dict[str, Any],
        figures: dict[str, Any] | None = None,
    ) -> KnowledgeBase:
        """From topic documents, the referral directory and the figures, in the kb/ files'
        shapes (``figures``: figures.yml's "figures" mapping)."""
        answers: dict[tuple[str, str, str], Answer] = {}
        titles: dict[str, dict[str, str]] = {}
        for data in topics:
            topic = data["topic"]
            titles[topic] = dict(data.get("title") or {})
            for country, by_lang in (data.get("answers") or {}).items():
                for lang, entry in (by_lang or {}).items():
                    answers[(topic, country, lang)] = _entry(entry or {})
        referrals = {country: referral_of(country, info) for country, info in countries.items()}
        return cls(answers, titles, referrals, figures_of(figures or {}))

    def replace(self, other: KnowledgeBase) -> None:
        """Take another's content in place: everything holding this object sees it at once."""
        self.answers, self.titles, self.referrals = other.answers, other.titles, other.referrals
        self.figures = other.figures

    def title(self, topic: str, lang: str) -> str:
        names = self.titles.get(topic, {})
        return names.get(lang) or names.get("en") or topic

    def answer(self, topic: str, country: str | None, lang: str) -> Answer | None:
        """The country's answer, else the general one, placeholders filled in."""
        for key in ((topic, country or GENERAL, lang), (topic, GENERAL, lang)):
            found = self.answers.get(key)
            if found:
                return Answer(
                    text=self.render(found.text, key[1], key[2]),
                    source=found.source,
                    reviewed=found.reviewed,
                    unverified=found.unverified,
                    figures_checked=figures_checked(found.text, self.figures),
                )
        return None

    def render(self, text: str, country: str, lang: str) -> str:
        """A text as the worker reads it: the country's referral placeholders, figures and
        money filled in (the referrals of anywhere when the country has none)."""
        referral = self.referrals.get(country) or self.referrals.get("indonesia")
        filled = fill(text, referral.values() if referral else {})
        return fill_money(fill_figures(filled, self.figures, lang), lang)

    def figures_due(
        self, today: dt.date, within_days: int = REVIEW_WARNING_DAYS
    ) -> list[FigureReview]:
        return figures_due(self.figures, today, within_days)

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
                    if entry is None and country != GENERAL and topic in GENERAL_TOPICS:
                        continue  # the general answer stands for this country
                    if entry is None or not entry.text:
                        problems.append(f"{where}: missing")
                        continue
                    problems += [f"{where}: {p}" for p in _check_entry(entry, self.figures)]
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
        for figure in self.figures.values():
            problems += [f"figures/{figure.id}: {p}" for p in figure.problems()]
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


def _check_entry(entry: Answer, figures: dict[str, Figure]) -> list[Problem]:
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
    unknown_figures = sorted(figures_named(entry.text) - set(figures))
    if unknown_figures:
        problems.append(Problem(ProblemKind.PLACEHOLDER, f"unknown figure(s) {unknown_figures}"))
    stray = _FIELD.sub("", _MONEY.sub("", _FIGURE.sub("", entry.text)))
    if "{" in stray or "}" in stray:
        problems.append(
            Problem(
                ProblemKind.PLACEHOLDER, "broken placeholder: a brace without a {name} around it"
            )
        )
    # Filled with the longest plausible values, the text must still fit the channels.
    longest = {name: "x" * 60 for name in PLACEHOLDERS}
    filled = fill(fill_money(fill_figures(entry.text, figures, "en"), "en"), longest)
    size = len(filled)
    # Each part a worker sees must fit one phone screen (with room for the source line).
    screen = max((len(part) for part in screen_parts(filled)), default=0)
    if screen > SCREEN_CHARS:
        problems.append(
            Problem(
                ProblemKind.TOO_LONG,
                f"a sentence or paragraph of {screen} characters cannot be split to fit "
                f"one phone screen ({SCREEN_CHARS})",
            )
        )
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


def screen_parts(text: str, limit: int = SCREEN_CHARS) -> list[str]:
    """The text in parts that each fit one phone screen: whole paragraphs where they fit,
    else whole sentences; a single sentence longer than a screen stays whole (and `kb
    check` reports it)."""
    pieces: list[str] = []
    for paragraph in text.split("\n\n"):
        if len(paragraph) <= limit:
            pieces.append(paragraph)
        else:
            pieces += [s for s in re.split(r"(?<=[.!?])\s+", paragraph) if s]
    parts: list[str] = []
    for piece in pieces:
        glue = "\n\n" if "\n\n" + piece in "\n\n" + text else " "
        if parts and len(parts[-1]) + len(glue) + len(piece) <= limit:
            parts[-1] += glue + piece
        else:
            parts.append(piece)
    return parts


def short_source(source: str) -> str:
    """A source as a worker reads it: the name of the law or body, without the full
    citation (what comes before the first comma, semicolon, bracket or dash)."""
    head = re.split(r"\s*[;(:]\s*|,\s+|\s+-\s+|\s+—\s+", source.strip(), maxsplit=1)[0]
    return textwrap.shorten(head, SHORT_SOURCE_CHARS, placeholder="...")


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
    "JPY": "¥",
    "KRW": "₩",
    "IDR": "Rp",
    "USD": "US$",
}


def format_money(currency: str, amount: Decimal, lang: str) -> str:
    """An amount in the reader's number format, with the symbol workers know
    (HK$5,100 / HK$5.100; cents only when there are any)."""
    symbol = CURRENCY_SYMBOLS.get(currency, currency + " ")
    pattern = "#,##0" if amount == amount.to_integral_value() else "#,##0.00"
    return symbol + format_decimal(amount, format=pattern, locale=lang)


def fill_money(text: str, lang: str) -> str:
    """Money placeholders as amounts in the reader's number format (HK$5,100 / HK$5.100)."""
    return _MONEY.sub(lambda m: format_money(m.group(1), Decimal(m.group(2)), lang), text)


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


def entry_problems(entry: Answer, figures: dict[str, Figure] | None = None) -> list[Problem]:
    """What is wrong with one answer (empty when it may be published); ``figures``: the
    ones its {figure:<id>} placeholders may name."""
    if not entry.text.strip():
        return [Problem(ProblemKind.EMPTY, "empty text")]
    return _check_entry(entry, figures or {})


def load_figures(root: Path = KB_DIR) -> dict[str, Any]:
    """kb/figures.yml's "figures" mapping, as the file has it ({} without the file)."""
    path = root / "figures.yml"
    if not path.exists():
        return {}
    return dict((yaml.safe_load(path.read_text("utf-8")) or {}).get("figures") or {})
