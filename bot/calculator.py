"""The rights calculator: from what a worker tells us, what the law says is owed.

Every line shows its working and cites its rule; where a rule is uncertain the calculator says
so instead of computing. The rules are data (kb/calculator.yml) and every amount is a figure
(kb/figures.yml), read through bot.kb: nothing here knows a wage, a rate or a divisor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from bot.kb import KB_DIR, Figure, figures_of, load_figures
from bot.nlu.countries import COUNTRIES

Working = dict[str, Decimal | int | str]

LABELS = (
    "underpayment",
    "unpaid_wages",
    "food_allowance",
    "rest_days",
    "holidays",
    "notice",
)
METHODS = frozenset(
    {
        "unpaid_wages",
        "minimum_shortfall",
        "hourly_minimum_shortfall",
        "monthly_allowance",
        "days_pay",
        "notice_pay",
    }
)


class Sector(StrEnum):
    DOMESTIC = "domestic"  # domestic workers and live-in caregivers
    OTHER = "other"  # factories, farms, fishing, construction...


@dataclass(frozen=True, kw_only=True)
class Claim:
    """What the worker told us, for one employer and one period."""

    country: str
    sector: Sector
    monthly_wage: Decimal  # actually paid (or agreed, for months not paid), local currency
    months_worked: int
    months_unpaid: int = 0  # whole months with no wage at all
    rest_days_worked: int = 0  # not compensated
    holidays_worked: int = 0  # statutory/public holidays, not compensated
    free_food: bool | None = None  # None: not asked
    dismissed_without_notice: bool = False
    months_of_service: int | None = None  # for payment in lieu of notice
    hours_per_week: Decimal | None = None

    def __post_init__(self) -> None:
        if self.country not in COUNTRIES:
            raise ValueError(f"unknown country {self.country!r}")
        object.__setattr__(self, "sector", Sector(self.sector))
        object.__setattr__(self, "monthly_wage", _decimal("monthly_wage", self.monthly_wage))
        if self.monthly_wage <= 0:
            raise ValueError("monthly_wage must be more than 0")
        _count("months_worked", self.months_worked, least=1)
        for name in ("months_unpaid", "rest_days_worked", "holidays_worked"):
            _count(name, getattr(self, name))
        if self.months_unpaid > self.months_worked:
            raise ValueError("months_unpaid cannot be more than months_worked")
        if self.months_of_service is not None:
            _count("months_of_service", self.months_of_service)
        if self.hours_per_week is not None:
            hours = _decimal("hours_per_week", self.hours_per_week)
            if not 0 < hours <= 168:
                raise ValueError("hours_per_week must be more than 0 and at most 168")
            object.__setattr__(self, "hours_per_week", hours)


def _decimal(name: str, value: object) -> Decimal:
    # A float would carry binary noise into money; a bool is not an amount.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValueError(f"{name} must be a Decimal or an int, not {type(value).__name__}")
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError(f"{name} must be a finite amount")
    return amount


def _count(name: str, value: object, least: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, not {type(value).__name__}")
    if value < least:
        raise ValueError(f"{name} must be at least {least}, not {value}")


@dataclass(frozen=True)
class Rule:
    law: str
    section: str
    url: str = ""
    text: str = ""


@dataclass(frozen=True)
class Line:
    """One amount owed: what it is, how much, how it was worked out and which rule says so."""

    label: str  # underpayment, unpaid_wages, rest_days, holidays, food_allowance, notice
    amount: Decimal
    currency: str
    working: Working
    rule: Rule
    figure_ids: tuple[str, ...] = ()
    unverified: bool = False


@dataclass(frozen=True)
class Uncertain:
    """A line the calculator will not compute, and why (``reason``: a key the caller words)."""

    label: str
    reason: str
    text: str
    rule: Rule | None = None
    figure_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    country: str
    sector: Sector
    currency: str
    lines: list[Line] = field(default_factory=list)
    uncertain: list[Uncertain] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def unverified(self) -> bool:
        return any(line.unverified for line in self.lines)


@dataclass(frozen=True)
class LineRule:
    label: str
    method: str  # "" for an uncertain line
    figures: dict[str, str]
    params: dict[str, Any]
    rule: Rule | None
    uncertain: tuple[str, str] | None  # (reason, text)
    unverified: bool


@dataclass(frozen=True)
class CalculatorRules:
    currencies: dict[str, int]
    currency: dict[str, str]  # per country
    lines: dict[tuple[str, Sector], dict[str, LineRule]]
    needs_figures: dict[str, dict[str, Any]]


def load_rules(root: Path = KB_DIR) -> CalculatorRules:
    """kb/calculator.yml, checked: an unknown method or a country without a currency raises."""
    return rules_of(yaml.safe_load((root / "calculator.yml").read_text("utf-8")) or {})


def rules_of(data: dict[str, Any]) -> CalculatorRules:
    currencies = {str(c): int(p) for c, p in (data.get("currencies") or {}).items()}
    by_country: dict[str, str] = {}
    lines: dict[tuple[str, Sector], dict[str, LineRule]] = {}
    for country, info in (data.get("countries") or {}).items():
        currency = str(info.get("currency", ""))
        if currency not in currencies:
            raise ValueError(f"calculator.yml: {country} has no known currency ({currency!r})")
        by_country[country] = currency
        for sector in Sector:
            lines[(country, sector)] = {
                label: _line_rule(f"{country}/{sector}/{label}", label, entry)
                for label, entry in (info.get(sector.value) or {}).items()
            }
    return CalculatorRules(currencies, by_country, lines, dict(data.get("needs_figures") or {}))


def _line_rule(where: str, label: str, entry: dict[str, Any]) -> LineRule:
    if label not in LABELS:
        raise ValueError(f"calculator.yml: {where}: unknown label (not one of {LABELS})")
    rule = entry.get("rule")
    uncertain = entry.get("uncertain")
    method = str(entry.get("method", ""))
    if uncertain is None and method not in METHODS:
        raise ValueError(f"calculator.yml: {where}: unknown method {method!r}")
    if uncertain is None and not rule:
        raise ValueError(f"calculator.yml: {where}: a computed line needs its rule")
    params = {k: v for k, v in entry.items() if k not in {"method", "figures", "rule"}}
    return LineRule(
        label=label,
        method="" if uncertain is not None else method,
        figures={str(k): str(v) for k, v in (entry.get("figures") or {}).items()},
        params=params,
        rule=Rule(**{k: str(v or "") for k, v in rule.items()}) if rule else None,
        uncertain=(str(uncertain["reason"]), " ".join(str(uncertain["text"]).split()))
        if uncertain is not None
        else None,
        unverified=bool(entry.get("unverified", False)),
    )


def load_calculator_figures(root: Path = KB_DIR) -> dict[str, Figure]:
    return figures_of(load_figures(root))


def calculate(
    claim: Claim,
    figures: dict[str, Figure] | None = None,
    rules: CalculatorRules | None = None,
) -> Result:
    """What is owed for ``claim``; ``figures`` and ``rules`` default to the kb/ files."""
    figures = load_calculator_figures() if figures is None else figures
    rules = load_rules() if rules is None else rules
    currency = rules.currency[claim.country]
    result = Result(claim.country, claim.sector, currency)
    for label, line_rule in rules.lines[(claim.country, claim.sector)].items():
        if not _asked(label, claim):
            continue
        if line_rule.uncertain is not None:
            reason, text = line_rule.uncertain
            result.uncertain.append(Uncertain(label, reason, text, line_rule.rule))
            continue
        missing = missing_figures(line_rule, figures)
        if missing:
            result.uncertain.append(
                Uncertain(
                    label,
                    "missing_figure",
                    f"needs figure(s) {', '.join(missing)} in kb/figures.yml",
                    line_rule.rule,
                    tuple(missing),
                )
            )
            continue
        outcome = _Work(claim, line_rule, figures, currency).compute()
        if isinstance(outcome, Uncertain):
            result.uncertain.append(outcome)
        elif outcome is not None:
            amount = _rounded(outcome.amount, rules.currencies[currency])
            result.lines.append(
                Line(
                    label,
                    amount,
                    currency,
                    outcome.working,
                    line_rule.rule or Rule("", ""),
                    outcome.figure_ids,
                    line_rule.unverified or any(figures[f].unverified for f in outcome.figure_ids),
                )
            )
    return result


def _asked(label: str, claim: Claim) -> bool:
    """Whether the claim raises this line at all (a rest day nobody worked owes nothing)."""
    return {
        "underpayment": True,
        "unpaid_wages": claim.months_unpaid > 0,
        "rest_days": claim.rest_days_worked > 0,
        "holidays": claim.holidays_worked > 0,
        "food_allowance": claim.free_food is False,
        "notice": claim.dismissed_without_notice,
    }.get(label, False)


def _figure_ids(line_rule: LineRule) -> list[str]:
    ids = list(line_rule.figures.values())
    day_wage = line_rule.params.get("day_wage") or {}
    ids += [str(day_wage[k]) for k in ("fraction_figure", "divisor_figure") if k in day_wage]
    if "days_figure" in line_rule.params:
        ids.append(str(line_rule.params["days_figure"]))
    return ids


def missing_figures(line_rule: LineRule, figures: dict[str, Figure]) -> list[str]:
    """The figures a computed line reads that ``figures`` lacks: without them it is uncertain."""
    return [fid for fid in _figure_ids(line_rule) if fid not in figures]


def _rounded(amount: Decimal, places: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@dataclass
class _Outcome:
    amount: Decimal
    working: Working
    figure_ids: tuple[str, ...]


@dataclass
class _Work:
    """One line worked out; the figures that change its amount are recorded as used."""

    claim: Claim
    line: LineRule
    figures: dict[str, Figure]
    currency: str
    used: list[str] = field(default_factory=list)

    def compute(self) -> _Outcome | Uncertain | None:
        methods: dict[str, Callable[[], _Outcome | Uncertain | None]] = {
            "unpaid_wages": self._unpaid_wages,
            "minimum_shortfall": self._minimum_shortfall,
            "hourly_minimum_shortfall": self._hourly_minimum_shortfall,
            "monthly_allowance": self._monthly_allowance,
            "days_pay": self._days_pay,
            "notice_pay": self._notice_pay,
        }
        return methods[self.line.method]()

    def value(self, figure_id: str, use: bool = True) -> Decimal:
        """A figure as a number (a fraction such as 1/30 divided out); ``use``: it changes the
        amount, so the line names it and carries its unverified mark."""
        figure = self.figures[figure_id]
        if figure.kind == "money" and figure.currency != self.currency:
            raise ValueError(f"figure {figure_id} is in {figure.currency}, not {self.currency}")
        try:
            if figure.kind == "fraction":
                top, bottom = figure.value.split("/")
                number = Decimal(top) / Decimal(bottom)
            else:
                number = Decimal(figure.value)
        except (ValueError, InvalidOperation, ZeroDivisionError) as error:
            raise ValueError(f"figure {figure_id} is not a number: {figure.value!r}") from error
        if use:
            self.used.append(figure_id)
        return number

    def role(self, name: str) -> Decimal:
        return self.value(self.line.figures[name])

    def done(self, amount: Decimal, working: Working) -> _Outcome | None:
        if amount <= 0:
            return None  # nothing owed: no line
        return _Outcome(amount, working, tuple(dict.fromkeys(self.used)))

    def short(self, months: int | None, least_key: str) -> Uncertain | None:
        least = self.line.params.get(least_key)
        if least is None:
            return None
        if months is None or months < int(least):
            text = " ".join(str(self.line.params.get("short_text", "")).split())
            reason = "service_not_given" if months is None else "too_short_service"
            return Uncertain(self.line.label, reason, text, self.line.rule)
        return None

    def basis(self) -> tuple[Decimal, Working]:
        """The monthly wage a day's or a notice period's wage is counted on."""
        wage = self.claim.monthly_wage
        if self.line.params.get("basis") != "wage_or_minimum":
            return wage, {"monthly_wage": wage, "basis": "wage"}
        if self.value(self.line.figures["minimum"], use=False) <= wage:
            return wage, {"monthly_wage": wage, "basis": "wage"}
        minimum = self.role("minimum")
        return minimum, {"monthly_wage": minimum, "basis": "minimum", "paid": wage}

    def _unpaid_wages(self) -> _Outcome | None:
        months = self.claim.months_unpaid
        wage = self.claim.monthly_wage
        return self.done(wage * months, {"monthly_wage": wage, "months_unpaid": months})

    def _minimum_shortfall(self) -> _Outcome | None:
        return self._shortfall(self.role("minimum"), {})

    def _shortfall(self, minimum: Decimal, extra: Working) -> _Outcome | None:
        # Over every month worked, paid or not: the unpaid months' agreed wage is its own line.
        paid, months = self.claim.monthly_wage, self.claim.months_worked
        working: Working = {**extra, "minimum": minimum, "paid": paid, "months": months}
        return self.done((minimum - paid) * months, working)

    def _hourly_minimum_shortfall(self) -> _Outcome | Uncertain | None:
        hours = self.claim.hours_per_week
        standard = self.value(self.line.figures["weekly_hours"], use=False)
        if hours != standard:
            reason = "hours_not_given" if hours is None else "hours_not_standard"
            text = (
                "The monthly minimum is worked out for a standard working week only; "
                "other hours change the paid weekly holiday and add overtime premiums."
            )
            return Uncertain(self.line.label, reason, text, self.line.rule)
        hourly, monthly_hours = self.role("hourly"), self.role("monthly_hours")
        self.role("weekly_hours")
        extra: Working = {
            "hourly_minimum": hourly,
            "hours_a_month": monthly_hours,
            "hours_per_week": hours,
        }
        return self._shortfall(hourly * monthly_hours, extra)

    def _monthly_allowance(self) -> _Outcome | None:
        allowance, months = self.role("allowance"), self.claim.months_worked
        return self.done(allowance * months, {"allowance": allowance, "months": months})

    def _days_pay(self) -> _Outcome | Uncertain | None:
        short = self.short(self.claim.months_worked, "min_months_worked")
        if short is not None:
            return short
        monthly, working = self.basis()
        formula = self.line.params["day_wage"]
        if "fraction_figure" in formula:
            fraction_id = str(formula["fraction_figure"])
            day = monthly * self.value(fraction_id)
            working["fraction"] = self.figures[fraction_id].value  # as written: "1/30"
        elif "divisor_figure" in formula:
            divisor = self.value(str(formula["divisor_figure"]))
            day, working["divisor"] = monthly / divisor, divisor
        else:
            months, days = int(formula["months"]), int(formula["days"])
            day = monthly * months / days
            working["average_over_months"], working["average_over_days"] = months, days
        per_day = Decimal(1)
        if "days_figure" in self.line.params:
            per_day = self.value(str(self.line.params["days_figure"]))
            working["days_pay_each"] = per_day
        count = (
            self.claim.rest_days_worked
            if self.line.label == "rest_days"
            else self.claim.holidays_worked
        )
        working["day_wage"] = _rounded(day, 2)
        working["days_worked"] = count
        return self.done(day * per_day * count, working)

    def _notice_pay(self) -> _Outcome | Uncertain | None:
        short = self.short(self.claim.months_of_service, "min_service_months")
        if short is not None:
            return short
        monthly, working = self.basis()
        months = self.role("notice_months")
        working["notice_months"] = months
        return self.done(monthly * months, working)


def sheet(result: Result, claim: Claim | None = None) -> dict[str, Any]:
    """The result as plain data (amounts as strings, nothing worded): what a claim sheet on a
    case keeps for the team, with what the worker told us (``claim``)."""
    data: dict[str, Any] = {
        "country": result.country,
        "sector": result.sector.value,
        "currency": result.currency,
        "lines": [
            {
                "label": line.label,
                "amount": str(line.amount),
                "working": {key: str(value) for key, value in line.working.items()},
                "rule": {"law": line.rule.law, "section": line.rule.section, "url": line.rule.url},
                "figures": list(line.figure_ids),
                "unverified": line.unverified,
            }
            for line in result.lines
        ],
        "uncertain": [
            {"label": item.label, "reason": item.reason, "text": item.text}
            for item in result.uncertain
        ],
        "total": str(result.total),
        "unverified": result.unverified,
    }
    if claim is not None:
        data["claim"] = {
            "monthly_wage": str(claim.monthly_wage),
            "months_worked": claim.months_worked,
            "months_unpaid": claim.months_unpaid,
            "rest_days_worked": claim.rest_days_worked,
            "holidays_worked": claim.holidays_worked,
            "free_food": claim.free_food,
            "dismissed_without_notice": claim.dismissed_without_notice,
            "hours_per_week": None if claim.hours_per_week is None else str(claim.hours_per_week),
        }
    return data
