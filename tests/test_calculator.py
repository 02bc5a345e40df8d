"""The rights calculator (bot/calculator.py, kb/calculator.yml): known claims give the amounts
worked out here by hand from the figures in kb/figures.yml, each with its rule; uncertain rules
give an Uncertain and no line; a missing figure makes its line uncertain."""

from __future__ import annotations

import dataclasses
import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from bot import calculator
from bot.calculator import (
    CalculatorRules,
    Claim,
    Line,
    Result,
    Sector,
    Uncertain,
    calculate,
    load_calculator_figures,
    load_rules,
)
from bot.kb import Figure
from bot.nlu.countries import COUNTRIES

CENT = Decimal("0.01")
DOMESTIC, OTHER = Sector.DOMESTIC, Sector.OTHER


@pytest.fixture(scope="module")
def figures() -> dict[str, Figure]:
    return load_calculator_figures()


@pytest.fixture(scope="module")
def rules() -> CalculatorRules:
    return load_rules()


def value(figures: dict[str, Figure], figure_id: str) -> Decimal:
    return Decimal(figures[figure_id].value)


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def claim(country: str, sector: Sector, wage: Decimal | int, months: int, **more: Any) -> Claim:
    return Claim(
        country=country, sector=sector, monthly_wage=Decimal(wage), months_worked=months, **more
    )


def line(result: Result, label: str) -> Line:
    found = [x for x in result.lines if x.label == label]
    assert len(found) == 1, (label, result)
    return found[0]


def uncertain(result: Result, label: str) -> Uncertain:
    found = [x for x in result.uncertain if x.label == label]
    assert len(found) == 1, (label, result)
    assert label not in {x.label for x in result.lines}, f"{label} both computed and uncertain"
    return found[0]


def labels(result: Result) -> set[str]:
    return {x.label for x in result.lines}


def test_hong_kong_underpayment_and_unpaid_wages(
    figures: dict[str, Figure], rules: CalculatorRules
) -> None:
    maw = value(figures, "hk_minimum_allowable_wage")
    paid = maw - 600
    result = calculate(claim("hong_kong", DOMESTIC, paid, 6, months_unpaid=2), figures, rules)

    under = line(result, "underpayment")
    assert under.amount == cents(600 * Decimal(6))
    assert under.working == {"minimum": maw, "paid": paid, "months": 6}
    assert under.figure_ids == ("hk_minimum_allowable_wage",)
    assert under.unverified == figures["hk_minimum_allowable_wage"].unverified
    assert "Minimum Allowable Wage" in under.rule.law and under.currency == "HKD"

    unpaid = line(result, "unpaid_wages")
    assert unpaid.amount == cents(paid * 2)
    assert unpaid.working == {"monthly_wage": paid, "months_unpaid": 2}
    assert "Cap. 57" in unpaid.rule.law and "s.23" in unpaid.rule.section
    assert unpaid.figure_ids == () and not unpaid.unverified

    # The shortfall runs over every month worked, the unpaid months' agreed wage is its own
    # line: together, what the minimum owes less what was paid.
    assert result.total == maw * 6 - paid * (6 - 2)
    assert result.currency == "HKD" and labels(result) == {"underpayment", "unpaid_wages"}


def test_a_wage_at_the_minimum_is_no_underpayment(
    figures: dict[str, Figure], rules: CalculatorRules
) -> None:
    maw = value(figures, "hk_minimum_allowable_wage")
    result = calculate(claim("hong_kong", DOMESTIC, maw, 12), figures, rules)
    assert result.lines == [] and result.uncertain == [] and result.total == 0


def test_hong_kong_holidays_are_paid_at_the_average_daily_wage(
    figures: dict[str, Figure], rules: CalculatorRules
) -> None:
    maw = value(figures, "hk_minimum_allowable_wage")
    below = calculate(claim("hong_kong", DOMESTIC, maw - 100, 6, holidays_worked=2), figures, rules)
    holidays = line(below, "holidays")
    # Paid below the minimum: the day's wage is counted on the wage the contract must state.
    assert holidays.amount == cents(maw * 12 / 365 * 2)
    assert holidays.working["basis"] == "minimum" and holidays.working["days_worked"] == 2
    assert holidays.figure_ids == ("hk_minimum_allowable_wage",)
    assert "s.40" in holidays.rule.section and holidays.rule.url

    above = maw + 1000
    result = calculate(claim("hong_kong", DOMESTIC, above, 6, holidays_worked=3), figures, rules)
    holidays = line(result, "holidays")
    assert holidays.amount == cents(above * 12 / 365 * 3)
    assert holidays.working["basis"] == "wage" and holidays.figure_ids == ()
    assert not holidays.unverified


def test_hong_kong_holidays_in_the_first_three_months_are_uncertain(
    figures: dict[str, Figure], rules: CalculatorRules
) -> None:
    result = calculate(claim("hong_kong", DOMESTIC, 6000, 2, holidays_worked=1), figures, rules)
    assert uncertain(result, "holidays").reason == "too_short_service"


def test_hong_kong_rest_days_worked_are_uncertain_not_computed(
    figures: dict[str, Figure], rules: CalculatorRules
) -> None:
    result = calculate(claim("hong_kong", DOMESTIC, 6000, 6, rest_days_worked=8), figures, rules)
    found = uncertain(result, "rest_days")
    assert found.reason == "rest_day_pay_agreed"
    assert found.rule is not None and "s.17" in found.rule.section
    assert result.lines == []


def test_hong_kong_payment_in_lieu_of_notice(
    figures: dict[str, Figure], rules: CalculatorRules
) -> None:
    maw = value(figures, "hk_minimum_allowable_wage")
    months = value(figures, "hk_termination_notice_months")
    wage = maw + 400
    fired = {"dismissed_without_notice": True}
    result = calculate(
        claim("hong_kong", DOMESTIC, wage, 9, months_of_service=9, **fired), figures, rules
    )
    notice = line(result, "notice")
    assert notice.amount == cents(wage * months)
    assert notice.working["notice_months"] == months
    assert notice.figure_ids == ("hk_termination_notice_months",)
    assert "s.7" in notice.rule.section and "ID 407" in notice.rule.law

    underpaid = calculate(
        claim("hong_kong", DOMESTIC, maw - 1, 9, months_of_service=9, **fired), figures, rules
    )
    assert line(underpaid, "notice").amount == cents(maw * months)

    not_told = calculate(claim("hong_kong", DOMESTIC, wage, 9, **fired), figures, rules)
    assert uncertain(not_told, "notice").reason == "service_not_given"
    first_month = calculate(
        claim("hong_kong", DOMESTIC, wage, 1, months_of_service=0, **fired), figures, rules
    )
    assert uncertain(first_month, "notice").reason == "too_short_service"


def test_hong_kong_food_allowance(figures: dict[str, Figure], rules: CalculatorRules) -> None:
    wage = value(figures, "hk_minimum_allowable_wage")
    no_food = claim("hong_kong", DOMESTIC, wage, 5, free_food=False)
    result = calculate(no_food, figures, rules)
    if "hk_food_allowance" in figures:
        food = line(result, "food_allowance")
        assert food.amount == cents(value(figures, "hk_food_allowance") * 5)
        assert food.figure_ids == ("hk_food_allowance",)
        assert food.unverified == figures["hk_food_allowance"].unverified
        assert "ID 407" in food.rule.law
    else:
        assert uncertain(result, "food_allowance").reason == "missing_figure"

    fed = calculate(claim("hong_kong", DOMESTIC, wage, 5, free_food=True), figures, rules)
    assert fed.lines == [] and fed.uncertain == []


def test_a_missing_figure_makes_its_lines_uncertain(
    figures: dict[str, Figure], rules: CalculatorRules
) -> None:
    without = {k: v for k, v in figures.items() if k not in {"hk_food_allowance"}}
    result = calculate(
        claim("hong_kong", DOMESTIC, 4000, 5, free_food=False, months_unpaid=1), without, rules
    )
    food = uncertain(result, "food_allowance")
    assert food.reason == "missing_figure" and food.figure_ids == ("hk_food_allowance",)
    assert "hk_food_allowance" in food.text and food.rule is not None

    no_maw = {k: v for k, v in figures.items() if k != "hk_minimum_allowable_wage"}
    fired = {"dismissed_without_notice": True, "months_of_service": 12}
    result = calculate(
        claim("hong_kong", DOMESTIC, 4000, 12, months_unpaid=1, holidays_worked=1, **fired),
        no_maw,
        rules,
    )
    for label in ("underpayment", "holidays", "notice"):
        assert uncertain(result, label).figure_ids == ("hk_minimum_allowable_wage",)
    assert labels(result) == {"unpaid_wages"}  # what was agreed and not paid: always


def test_taiwan_caregiver(figures: dict[str, Figure], rules: CalculatorRules) -> None:
    minimum = value(figures, "tw_caregiver_minimum_wage")
    rate = Fraction(figures["tw_caregiver_rest_day_pay_rate"].value)
    paid = minimum - 2000
    result = calculate(
        claim("taiwan", DOMESTIC, paid, 4, rest_days_worked=5, holidays_worked=2), figures, rules
    )
    assert line(result, "underpayment").amount == cents(Decimal(2000 * 4))
    rest = line(result, "rest_days")
    expected = Decimal(rate.numerator) * minimum * 5 / Decimal(rate.denominator)
    assert rest.amount == cents(expected)
    assert rest.working["fraction"] == figures["tw_caregiver_rest_day_pay_rate"].value
    assert set(rest.figure_ids) == {"tw_caregiver_minimum_wage", "tw_caregiver_rest_day_pay_rate"}
    assert rest.unverified == any(figures[f].unverified for f in rest.figure_ids)
    # Not under the Labor Standards Act: holiday pay follows the contract.
    assert uncertain(result, "holidays").reason == "caregiver_contract_holidays"


def test_a_line_is_unverified_when_one_of_its_figures_is(
    figures: dict[str, Figure], rules: CalculatorRules
) -> None:
    doubtful = dict(figures)
    doubtful["sg_rest_day_pay_divisor"] = dataclasses.replace(
        figures["sg_rest_day_pay_divisor"], unverified=True
    )
    sure = dict(figures)
    sure["sg_rest_day_pay_divisor"] = dataclasses.replace(
        figures["sg_rest_day_pay_divisor"], unverified=False
    )
    one = claim("singapore", DOMESTIC, 700, 3, rest_days_worked=1)
    assert line(calculate(one, doubtful, rules), "rest_days").unverified
    assert not line(calculate(one, sure, rules), "rest_days").unverified
    assert calculate(one, doubtful, rules).unverified


def test_singapore_rest_days_and_rounding(
    figures: dict[str, Figure], rules: CalculatorRules
) -> None:
    divisor = value(figures, "sg_rest_day_pay_divisor")
    result = calculate(claim("singapore", DOMESTIC, 560, 3, rest_days_worked=2), figures, rules)
    rest = line(result, "rest_days")
    assert rest.amount == cents(Decimal(560) / divisor * 2)
    assert rest.amount.as_tuple().exponent == -2
    assert "divisor" in rest.rule.section and rest.rule.url.startswith("https://www.mom.gov.sg")
    assert uncertain(result, "underpayment").reason == "no_minimum_wage"


def test_amounts_round_half_up_to_the_currency(
    figures: dict[str, Figure], rules: CalculatorRules
) -> None:
    hkd = calculate(
        claim("hong_kong", OTHER, Decimal("4500.005"), 1, months_unpaid=1), figures, rules
    )
    assert line(hkd, "unpaid_wages").amount == Decimal("4500.01")
    jpy = calculate(claim("japan", OTHER, Decimal("150000.5"), 1, months_unpaid=1), figures, rules)
    unpaid = line(jpy, "unpaid_wages")
    assert unpaid.amount == Decimal(150001) and unpaid.amount.as_tuple().exponent == 0
    krw = calculate(
        claim("south_korea", OTHER, Decimal("2000000.4"), 2, months_unpaid=1), figures, rules
    )
    assert line(krw, "unpaid_wages").amount == Decimal(2000000)


def test_south_korea_minimum_wage_by_the_hour(
    figures: dict[str, Figure], rules: CalculatorRules
) -> None:
    hourly = value(figures, "kr_minimum_wage_hourly")
    hours = value(figures, "kr_minimum_wage_monthly_hours")
    week = value(figures, "kr_weekly_hours")
    paid = Decimal(2_000_000)
    result = calculate(
        claim("south_korea", OTHER, paid, 3, hours_per_week=week, months_unpaid=1), figures, rules
    )
    under = line(result, "underpayment")
    assert under.amount == ((hourly * hours - paid) * 3).quantize(Decimal(1), ROUND_HALF_UP)
    assert under.amount.as_tuple().exponent == 0 and under.currency == "KRW"
    assert under.working["minimum"] == hourly * hours
    assert "Art. 6" in under.rule.section and "Minimum Wage Act" in under.rule.law
    assert line(result, "unpaid_wages").amount == paid

    unknown = calculate(claim("south_korea", OTHER, paid, 3), figures, rules)
    assert uncertain(unknown, "underpayment").reason == "hours_not_given"
    longer = calculate(claim("south_korea", OTHER, paid, 3, hours_per_week=52), figures, rules)
    assert uncertain(longer, "underpayment").reason == "hours_not_standard"
    domestic = calculate(claim("south_korea", DOMESTIC, paid, 3), figures, rules)
    assert uncertain(domestic, "underpayment").reason == "domestic_worker_excluded"


def test_malaysia(figures: dict[str, Figure], rules: CalculatorRules) -> None:
    minimum = value(figures, "my_minimum_wage")
    factory = calculate(claim("malaysia", OTHER, minimum - 200, 6), figures, rules)
    assert line(factory, "underpayment").amount == cents(Decimal(200 * 6))
    maid = calculate(claim("malaysia", DOMESTIC, 1000, 6, rest_days_worked=2), figures, rules)
    assert uncertain(maid, "underpayment").reason == "domestic_worker_no_statutory_minimum"
    assert uncertain(maid, "rest_days").reason == "domestic_worker_excluded"
    assert maid.lines == []


@pytest.mark.parametrize(
    ("country", "sector", "reason"),
    [
        ("japan", OTHER, "minimum_wage_per_prefecture"),
        ("japan", DOMESTIC, "domestic_worker_excluded"),
        ("singapore", DOMESTIC, "no_minimum_wage"),
        ("saudi_arabia", DOMESTIC, "rules_not_confirmed"),
    ],
)
def test_uncertain_rules_give_no_line_but_unpaid_wages_always_count(
    figures: dict[str, Figure], rules: CalculatorRules, country: str, sector: Sector, reason: str
) -> None:
    result = calculate(
        claim(
            country,
            sector,
            1000,
            6,
            months_unpaid=3,
            rest_days_worked=2,
            holidays_worked=1,
            dismissed_without_notice=True,
            months_of_service=6,
        ),
        figures,
        rules,
    )
    assert uncertain(result, "underpayment").reason == reason
    assert labels(result) <= {"unpaid_wages", "rest_days"}
    assert line(result, "unpaid_wages").amount == 3000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"months_worked": -1}, "months_worked"),
        ({"months_worked": 0}, "months_worked"),
        ({"monthly_wage": 0}, "monthly_wage"),
        ({"monthly_wage": Decimal("-5")}, "monthly_wage"),
        ({"monthly_wage": 4500.5}, "monthly_wage"),
        ({"months_unpaid": -2}, "months_unpaid"),
        ({"months_unpaid": 7}, "months_unpaid"),
        ({"rest_days_worked": -1}, "rest_days_worked"),
        ({"holidays_worked": 1.5}, "holidays_worked"),
        ({"months_of_service": -3}, "months_of_service"),
        ({"hours_per_week": 0}, "hours_per_week"),
        ({"country": "atlantis"}, "country"),
        ({"sector": "fishing"}, "fishing"),
    ],
)
def test_invalid_claims_raise_a_clear_value_error(change: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {
        "country": "hong_kong",
        "sector": DOMESTIC,
        "monthly_wage": Decimal(4500),
        "months_worked": 6,
    }
    with pytest.raises(ValueError, match=message):
        Claim(**{**fields, **change})


def test_every_country_has_its_rules_and_every_figure_named_exists_or_is_asked_for(
    figures: dict[str, Figure], rules: CalculatorRules
) -> None:
    for country in COUNTRIES:
        for sector in Sector:
            lines = rules.lines[(country, sector)]
            assert {"underpayment", "unpaid_wages"} <= set(lines), (country, sector)
            assert lines["unpaid_wages"].method == "unpaid_wages", (country, sector)
            for label, entry in lines.items():
                where = (country, sector, label)
                if entry.uncertain is None:
                    assert entry.rule and entry.rule.law and entry.rule.section, where
                else:
                    assert entry.uncertain[0] and entry.uncertain[1], where
                for fid in entry.figures.values():
                    assert fid in figures or fid in rules.needs_figures, (where, fid)


def test_the_engine_states_no_amount(figures: dict[str, Figure]) -> None:
    source = Path(calculator.__file__).read_text("utf-8")
    for figure in figures.values():
        if figure.kind == "money" and len(figure.value) > 2:
            assert not re.search(rf"\b{re.escape(figure.value)}\b", source), figure.id
