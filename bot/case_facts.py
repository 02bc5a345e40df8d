"""What operators record about a case besides what the model guessed: the facts the NGO's
advocacy rests on (sector, against whom, violations, money owed and recovered, the
outcome). One fixed vocabulary, shown translated in the console and counted in the
reports; the README's "Case facts" section documents it.

The violations map to the ILO's eleven indicators of forced labour (ILO, "ILO Indicators
of Forced Labour", Special Action Programme to Combat Forced Labour, 2012), plus the wage,
fee and contract violations the helpline's complaints are mostly about.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import N_, _

SECTORS = {
    "domestic": N_("domestic work"),
    "care_home": N_("care home"),
    "fishing": N_("fishing vessel"),
    "plantation": N_("plantation"),
    "factory": N_("factory"),
    "construction": N_("construction"),
    "other": N_("other sector"),
}

AGAINST = {
    "employer": N_("employer"),
    "agency": N_("recruitment agency"),
    "sponsor": N_("sponsor"),
    "other": N_("other"),
}


@dataclass(frozen=True)
class Violation:
    label: str
    # The ILO forced-labour indicator (1-11) it is, or 0 for a wage, fee or contract
    # violation that is not one of them.
    ilo: int
    group: str  # "forced_labour", "wages", "fees", "contract"


FORCED = "forced_labour"

VIOLATIONS = {
    "abuse_of_vulnerability": Violation(N_("abuse of vulnerability"), 1, FORCED),
    "deception": Violation(N_("deception about the job"), 2, FORCED),
    "restricted_movement": Violation(N_("restriction of movement"), 3, FORCED),
    "isolation": Violation(N_("isolation"), 4, FORCED),
    "violence": Violation(N_("physical or sexual violence"), 5, FORCED),
    "threats": Violation(N_("intimidation and threats"), 6, FORCED),
    "documents_held": Violation(N_("passport or documents held"), 7, FORCED),
    "wages_withheld": Violation(N_("wages withheld"), 8, FORCED),
    "debt_bondage": Violation(N_("debt bondage"), 9, FORCED),
    "abusive_conditions": Violation(N_("abusive working or living conditions"), 10, FORCED),
    "excessive_overtime": Violation(N_("excessive overtime"), 11, FORCED),
    "underpaid": Violation(N_("paid below the minimum wage or contract"), 0, "wages"),
    "unlawful_deductions": Violation(N_("unlawful deductions"), 0, "wages"),
    "no_rest_day": Violation(N_("no weekly rest day"), 0, "wages"),
    "overcharged_fees": Violation(N_("placement fees over the legal limit"), 0, "fees"),
    "contract_substitution": Violation(N_("contract changed after departure"), 0, "contract"),
    "unlawful_termination": Violation(N_("dismissed without notice or pay"), 0, "contract"),
}

# How a case ended: asked for when it is closed or resolved.
OUTCOMES = {
    "resolved_paid": N_("resolved, money paid"),
    "resolved_unpaid": N_("resolved without payment"),
    "information_given": N_("information given, nothing more needed"),
    "referred_closed": N_("referred, closed by the partner"),
    "unreachable": N_("worker unreachable"),
    "withdrawn": N_("withdrawn by the worker"),
    "duplicate": N_("duplicate of another case"),
    "other": N_("other outcome"),
}

GENDERS = {
    "female": N_("woman"),
    "male": N_("man"),
    "other": N_("another gender"),
}

CURRENCIES = ("HKD", "TWD", "MYR", "SGD", "SAR", "JPY", "KRW", "IDR", "USD")

# A P3MI licence number as the ministry writes them varies (digits, dots, slashes and
# letters): kept as typed, within these characters and length.
_LICENCE = re.compile(r"^[0-9A-Za-z./ -]{1,60}$")
MAX_NAME = 120
MAX_AMOUNT = 100_000_000


# What a referral packet can carry, as the operator chooses.
PACKET_PARTS = {
    "summary": N_("what the worker told us first"),
    "facts": N_("the case's facts"),
    "messages": N_("the worker's messages"),
}


def dimension_labels(prefix: str) -> dict[str, str]:
    """How the reports name the values of a counted dimension (sector, violation,
    outcome), translated; other dimensions have none."""
    if prefix == "sector":
        return {k: _(v) for k, v in SECTORS.items()} | {"unknown": _("not set")}
    if prefix == "violation":
        return {k: _(v.label) for k, v in VIOLATIONS.items()}
    if prefix == "outcome":
        return {k: _(v) for k, v in OUTCOMES.items()} | {"unrecorded": _("not recorded")}
    return {}


def named(values: dict[str, float], prefix: str) -> dict[str, float]:
    """Counts by value, keyed by the values' names as people read them."""
    names = dimension_labels(prefix)
    return {names.get(k, k.replace("_", " ")): v for k, v in values.items()}


class FactsError(ValueError):
    """A fact the form sent that the vocabulary does not have."""


@dataclass
class Facts:
    """The facts an operator set; empty means "not known yet"."""

    sector: str = ""
    against: str = ""
    agency: str = ""
    agency_licence: str = ""
    violations: list[str] = field(default_factory=list)
    currency: str = ""
    owed: float = 0.0
    recovered: float = 0.0
    gender: str = ""
    # The partners the worker agreed their case may be shared with (referral packets).
    consent: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", 0.0, [])}

    @classmethod
    def of(cls, data: dict[str, Any]) -> Facts:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _choice(value: str, allowed: dict[str, Any] | tuple[str, ...], what: str) -> str:
    value = value.strip()
    if value and value not in allowed:
        raise FactsError(f"unknown {what}: {value[:40]}")
    return value


def _amount(raw: str, what: str) -> float:
    raw = raw.strip().replace(",", "")
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise FactsError(f"{what} is not a number") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_AMOUNT:
        raise FactsError(f"{what} must be between 0 and {MAX_AMOUNT:,}")
    return round(value, 2)


def parse_facts(form: dict[str, Any], violations: list[str]) -> Facts:
    """The facts a console form sent, checked against the vocabulary; ``violations`` are
    the form's (repeated) violation fields."""
    facts = Facts(
        sector=_choice(str(form.get("sector", "")), SECTORS, "sector"),
        against=_choice(str(form.get("against", "")), AGAINST, "party"),
        agency=" ".join(str(form.get("agency", "")).split())[:MAX_NAME],
        agency_licence=str(form.get("agency_licence", "")).strip(),
        violations=sorted({_choice(v, VIOLATIONS, "violation") for v in violations if v}),
        currency=_choice(str(form.get("currency", "")), CURRENCIES, "currency"),
        owed=_amount(str(form.get("owed", "")), "the amount owed"),
        recovered=_amount(str(form.get("recovered", "")), "the amount recovered"),
        gender=_choice(str(form.get("gender", "")), GENDERS, "gender"),
    )
    if facts.agency_licence and not _LICENCE.match(facts.agency_licence):
        raise FactsError("the licence number has characters a licence does not")
    if (facts.owed or facts.recovered) and not facts.currency:
        raise FactsError("choose the currency of the amounts")
    if facts.against != "agency":
        facts.agency = facts.agency_licence = ""
    return facts


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed between two fact dicts: {name: [before, after]} (for the timeline)."""
    names = sorted(set(before) | set(after))
    return {n: [before.get(n), after.get(n)] for n in names if before.get(n) != after.get(n)}


def describe_facts(facts: Facts) -> str:
    """The facts as lines a partner reads (translated labels)."""
    lines = []
    if facts.sector:
        lines.append(_("Sector") + ": " + _(SECTORS[facts.sector]))
    if facts.against:
        against = _(AGAINST[facts.against])
        if facts.agency:
            against += f" {facts.agency}"
            if facts.agency_licence:
                against += " (" + _("licence") + f" {facts.agency_licence})"
        lines.append(_("Against") + ": " + against)
    if facts.violations:
        named = ", ".join(_(VIOLATIONS[v].label) for v in facts.violations if v in VIOLATIONS)
        lines.append(_("Violations") + ": " + named)
    if facts.currency and (facts.owed or facts.recovered):
        lines.append(
            _("Owed")
            + f": {facts.currency} {facts.owed:,.2f}; "
            + _("recovered")
            + f": {facts.currency} {facts.recovered:,.2f}"
        )
    return "\n".join(lines) or "-"
