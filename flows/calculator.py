"""The rights calculator as a conversation ("What am I owed?").

One question at a time, and only the questions the rules of the worker's country and sector
compute from (kb/calculator.yml); then every amount with its working and its rule, what was
not computed and why, and - only if the worker agrees - a claim sheet on their case. The
engine is bot/calculator.py; this module only asks, reads the answers and words the result.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from bot.calculator import (
    CalculatorRules,
    Claim,
    Line,
    Result,
    Sector,
    calculate,
    load_rules,
    missing_figures,
    sheet,
)
from bot.i18n import N_, _, format_number, ngettext
from bot.kb import CURRENCY_SYMBOLS, Figure, format_money, screen_parts
from bot.messages import Button
from bot.store.cases import Priority
from flows import smalltalk
from flows.base import Turn, human_button
from flows.calculator_input import (
    RUPIAH,
    amount_of,
    count_of,
    hours_of,
    sector_of,
    yes_no_of,
)
from flows.onboarding import COUNTRY_NAMES, country_buttons, country_name, set_country
from flows.waiting import wait_notice

FLOW = "calc"
SECTORS = {
    "domestic": N_("Domestic or carer"),
    "other": N_("Factory, farm, other"),
}
LINE_NAMES = {
    "underpayment": N_("Wage below the minimum"),
    "unpaid_wages": N_("Months with no wage"),
    "food_allowance": N_("Food allowance"),
    "rest_days": N_("Rest days worked"),
    "holidays": N_("Public holidays worked"),
    "notice": N_("Pay in lieu of notice"),
}
# Why a line was not computed, in the worker's words; the engine's English reason (for
# the team) stays on the claim sheet.
REASONS = {
    "minimum_wage_per_prefecture": N_(
        "the minimum wage there is per hour and differs from one prefecture to another."
    ),
    "domestic_worker_excluded": N_(
        "the labour law there does not cover domestic workers: your contract decides."
    ),
    "domestic_worker_no_statutory_minimum": N_(
        "there is no legal minimum wage for domestic workers there: your contract decides."
    ),
    "no_minimum_wage": N_("there is no minimum wage for this work there."),
    "not_a_domestic_worker": N_("the calculator knows only the rules for domestic workers there."),
    "rules_not_confirmed": N_("the rules there are not confirmed well enough to compute."),
    "rest_day_pay_agreed": N_(
        "the law does not fix a sum for a rest day worked; the labour department looks at it."
    ),
    "too_short_service": N_(
        "it is owed only after a minimum time with the employer, and you worked less than that."
    ),
    "service_not_given": N_("it depends on how long you worked for this employer."),
    "hours_not_standard": N_(
        "the minimum is worked out for a standard working week only; other hours change it."
    ),
    "hours_not_given": N_("it depends on your working hours."),
    "missing_figure": N_("a figure it needs is not yet in our reviewed information."),
}
OTHER_REASON = N_("the rules are not clear enough to compute it here; a person can look at it.")
# What the questions are called in the session (data keys), in the order they are asked.
QUESTIONS = ("wage", "months", "unpaid", "rest_days", "holidays", "food", "dismissed", "hours")
COUNTS = ("unpaid", "rest_days", "holidays")
# The line a question is needed for: asked only when the country's rules compute it.
NEEDED_FOR = {
    "unpaid": "unpaid_wages",
    "rest_days": "rest_days",
    "holidays": "holidays",
    "food": "food_allowance",
    "dismissed": "notice",
}


@cache
def rules() -> CalculatorRules:
    return load_rules()


def computed(country: str, sector: Sector, figures: dict[str, Figure]) -> set[str]:
    """The lines the rules compute for this country and sector with the figures we have."""
    lines = rules().lines[(country, sector)]
    return {
        label for label, line in lines.items() if line.method and not missing_figures(line, figures)
    }


def questions_for(country: str, sector: Sector, figures: dict[str, Figure]) -> list[str]:
    """The questions whose answers change an amount for this country and sector."""
    lines, can = rules().lines[(country, sector)], computed(country, sector, figures)
    asked = ["wage", "months", *(q for q, label in NEEDED_FOR.items() if label in can)]
    underpayment = lines.get("underpayment")
    if "underpayment" in can and underpayment and underpayment.method == "hourly_minimum_shortfall":
        asked.append("hours")
    return sorted(asked, key=QUESTIONS.index)


def not_counted(country: str, sector: Sector, figures: dict[str, Figure]) -> list[str]:
    """Lines the calculator cannot compute there, so never asks about: named once."""
    lines, can = rules().lines[(country, sector)], computed(country, sector, figures)
    return [label for label in lines if label in NEEDED_FOR.values() and label not in can]


def yes_or_no(turn: Turn) -> bool | None:
    intent = turn.classification.intent if turn.classification else None
    if intent in ("affirm", "deny"):
        return intent == "affirm"
    return yes_no_of(turn.inbound.text)


# -- the questions -------------------------------------------------------------------------


def cancel_button() -> Button:
    return Button(_("Cancel"), "calc:cancel")


def count_buttons(step: str) -> list[Button]:
    numbers = [Button(str(n), f"calc:{step}:{n}") for n in range(4)]
    return [*numbers, Button(_("More than 3"), f"calc:{step}:more"), cancel_button()]


def yes_no_buttons(step: str) -> list[Button]:
    return [
        Button(_("Yes"), f"calc:{step}:yes"),
        Button(_("No"), f"calc:{step}:no"),
        cancel_button(),
    ]


def currency_name(country: str) -> str:
    code = rules().currency[country]
    symbol = CURRENCY_SYMBOLS.get(code, "").strip()
    return f"{symbol} ({code})" if symbol and symbol != code else code


def standard_hours(turn: Turn, country: str, sector: Sector) -> str | None:
    figure_id = rules().lines[(country, sector)]["underpayment"].figures.get("weekly_hours")
    figure = turn.services.kb.figures.get(figure_id or "")
    return figure.value if figure is not None else None


def ask(turn: Turn, step: str) -> None:
    session = turn.session
    session.step = step
    country, data = session.country or "", session.data
    if step == "country":
        turn.say(_("Which country are you working in?"), [*country_buttons(FLOW), cancel_button()])
    elif step == "sector":
        turn.say(
            _(
                "What work do you do? Domestic work or caring for someone in a home, or other "
                "work (factory, farm, fishing, construction)?"
            ),
            [
                *(Button(_(name), f"calc:sector:{key}") for key, name in SECTORS.items()),
                cancel_button(),
            ],
        )
    elif step == "wage":
        turn.say(
            _(
                "How much wage do you actually get each month, in {currency}? Write just the "
                "amount, for example 4500."
            ).format(currency=currency_name(country)),
            [cancel_button()],
        )
    elif step == "months":
        turn.say(
            _("How many months have you worked for this employer, paid or not? For example: 6."),
            [cancel_button()],
        )
    elif step == "unpaid":
        turn.say(_("Of these months, how many were not paid at all?"), count_buttons(step))
    elif step == "rest_days":
        turn.say(
            _("How many rest days did you work without another day off or extra pay for it?"),
            count_buttons(step),
        )
    elif step == "holidays":
        turn.say(
            _("How many public holidays did you work without another day off instead?"),
            count_buttons(step),
        )
    elif step == "food":
        turn.say(_("Does your employer give you free food?"), yes_no_buttons(step))
    elif step == "dismissed":
        turn.say(_("Did your employer end your contract without notice?"), yes_no_buttons(step))
    elif step == "hours":
        standard = standard_hours(turn, country, Sector(data["sector"]))
        buttons = [Button(standard, f"calc:hours:{standard}")] if standard else []
        turn.say(
            _("How many hours a week do you usually work? For example: 40."),
            [*buttons, cancel_button()],
        )


def ask_again(turn: Turn, why: str) -> None:
    turn.say(why)
    ask(turn, turn.session.step or "")


async def ask_next(turn: Turn) -> None:
    """The next question the rules need; the result once there is none."""
    session = turn.session
    session.flow = FLOW
    country, data = session.country, session.data
    if country is None or country not in rules().currency:
        ask(turn, "country")
    elif "sector" not in data:
        ask(turn, "sector")
    elif missing := [
        q
        for q in questions_for(country, Sector(data["sector"]), turn.services.kb.figures)
        if q not in data
    ]:
        ask(turn, missing[0])
    else:
        await show_result(turn)


# -- entry points ----------------------------------------------------------------------------


async def on_button(turn: Turn, rest: str) -> None:
    """calc (the "What am I owed?" button) starts; calc:<question>:<answer> answers."""
    session = turn.session
    step, _sep, value = rest.partition(":")
    if not rest:
        session.clear_flow()
        session.flow = FLOW
        turn.say(
            _(
                "I will ask you a few questions, one at a time, and work out what the law says "
                'you are owed. Write "cancel" at any time to stop.'
            )
        )
        await ask_next(turn)
    elif step == "cancel":
        smalltalk.menu(turn)
    elif session.flow != FLOW:
        smalltalk.unknown_button(turn)
    elif step == "consent" and session.step == "consent":
        await consent(turn, value == "yes")
    elif step == "country" and session.step == "country":
        await country_given(turn, value)
    elif step != session.step:
        ask(turn, session.step or "")  # a button of an earlier question
    elif value == "more":
        turn.say(_("How many? Please write the number."), [cancel_button()])
    else:
        await answer(turn, value)


async def on_text(turn: Turn) -> None:
    """A written answer to the question that waits."""
    text, step = turn.inbound.text.strip(), turn.session.step
    if step == "country":
        country = turn.classification.country if turn.classification else None
        if country:
            await country_given(turn, country)
        else:
            ask_again(turn, _("Please choose your country with the buttons."))
    elif step == "consent":
        yes = yes_or_no(turn)
        if yes is None:
            ask_consent(turn, _("Please answer with the buttons: yes or no."))
        else:
            await consent(turn, yes)
    else:
        await answer(turn, text)


async def country_given(turn: Turn, country: str) -> None:
    if country != "other" and country not in COUNTRY_NAMES:
        ask(turn, "country")
        return
    set_country(turn, country)
    if turn.session.country is None:
        turn.session.clear_flow()
        turn.say(
            _("The calculator knows only the countries in the list. A person can help you."),
            [human_button(), Button(_("Menu"), "menu")],
        )
        return
    await ask_next(turn)


async def answer(turn: Turn, text: str) -> None:
    """Reads the answer to the question that waits (a button's value or free text)."""
    step, data = turn.session.step or "", turn.session.data
    if step == "sector":
        sector = text if text in SECTORS else sector_of(text)
        if sector is None:
            ask_again(turn, _("Sorry, I did not understand. Please choose one of the buttons."))
            return
        data["sector"] = sector
    elif step == "wage":
        if RUPIAH.search(text):
            ask_again(turn, _("Please write the wage in the money you are paid in, not in rupiah."))
            return
        amount = amount_of(text)
        if amount is None:
            ask_again(turn, _("Sorry, I need the wage as one number, for example 4500."))
            return
        data["wage"] = str(amount)
    elif step in ("months", *COUNTS):
        count = count_of(text, months=step in ("months", "unpaid"))
        if count is None or (step == "months" and count < 1):
            ask_again(turn, _("Sorry, I need a whole number here, for example 2."))
            return
        if step == "unpaid" and count > data["months"]:
            ask_again(turn, _("That is more than the months you worked. Please check the number."))
            return
        data[step] = count
    elif step in ("food", "dismissed"):
        yes = {"yes": True, "no": False}.get(text)
        yes = yes_or_no(turn) if yes is None else yes
        if yes is None:
            ask_again(turn, _("Please answer with the buttons: yes or no."))
            return
        data[step] = yes
    elif step == "hours":
        hours = hours_of(text)
        if hours is None:
            ask_again(turn, _("Sorry, I need the hours of one week as a number, for example 40."))
            return
        data["hours"] = str(hours)
    await ask_next(turn)


# -- the result ------------------------------------------------------------------------------


def claim_of(country: str, data: dict[str, Any]) -> Claim:
    months, dismissed = int(data["months"]), bool(data.get("dismissed", False))
    return Claim(
        country=country,
        sector=Sector(data["sector"]),
        monthly_wage=Decimal(data["wage"]),
        months_worked=months,
        months_unpaid=int(data.get("unpaid", 0)),
        rest_days_worked=int(data.get("rest_days", 0)),
        holidays_worked=int(data.get("holidays", 0)),
        free_food=data.get("food"),
        dismissed_without_notice=dismissed,
        # The months with this employer: the length of service notice is counted on.
        months_of_service=months if dismissed else None,
        hours_per_week=Decimal(data["hours"]) if "hours" in data else None,
    )


def money(amount: Decimal | int | str, currency: str, lang: str) -> str:
    """An amount the way the answers show money (bot/kb.py): HK$5,100 / HK$5.100."""
    return format_money(currency, Decimal(amount), lang)


def working_of(line: Line, lang: str) -> str:
    """How the amount was worked out, in one line: "(HK$5,100 - HK$4,500) x 6 months"."""
    w, currency = line.working, line.currency

    def cash(key: str) -> str:
        return money(w[key], currency, lang)

    if "hourly_minimum" in w:
        n = int(w["months"])
        return ngettext(
            "({hourly} x {hours} hours - {paid}) x {n} month",
            "({hourly} x {hours} hours - {paid}) x {n} months",
            n,
        ).format(
            hourly=cash("hourly_minimum"),
            hours=format_number(Decimal(w["hours_a_month"])),
            paid=cash("paid"),
            n=n,
        )
    if "minimum" in w and "months" in w:
        n = int(w["months"])
        return ngettext(
            "({minimum} - {paid}) x {n} month", "({minimum} - {paid}) x {n} months", n
        ).format(minimum=cash("minimum"), paid=cash("paid"), n=n)
    if "months_unpaid" in w:
        n = int(w["months_unpaid"])
        return ngettext("{wage} x {n} month", "{wage} x {n} months", n).format(
            wage=cash("monthly_wage"), n=n
        )
    if "allowance" in w:
        n = int(w["months"])
        return ngettext("{allowance} x {n} month", "{allowance} x {n} months", n).format(
            allowance=cash("allowance"), n=n
        )
    if "days_worked" in w:
        return days_working(line, lang)
    if "notice_months" in w:
        return _("{wage} x {n} month(s) of notice").format(
            wage=cash("monthly_wage"), n=format_number(Decimal(w["notice_months"]))
        )
    return ", ".join(f"{key}: {value}" for key, value in w.items())


def days_working(line: Line, lang: str) -> str:
    """A day's wage, then the days: "HK$5,100 x 12 / 365 = HK$167.67 a day x 3 days"."""
    w, currency = line.working, line.currency
    wage = money(w["monthly_wage"], currency, lang)
    if "fraction" in w:
        formula = f"{wage} x {w['fraction']}"
    elif "divisor" in w:
        formula = f"{wage} / {format_number(Decimal(w['divisor']))}"
    else:
        formula = f"{wage} x {w['average_over_months']} / {w['average_over_days']}"
    text = _("{formula} = {day_wage} a day").format(
        formula=formula, day_wage=money(w["day_wage"], currency, lang)
    )
    if "days_pay_each" in w:
        text += " " + _("x {n} days' pay").format(n=format_number(Decimal(w["days_pay_each"])))
    n = int(w["days_worked"])
    text += " " + ngettext("x {n} day", "x {n} days", n).format(n=n)
    if w.get("basis") == "minimum":
        text += " " + _("(on the minimum wage, not the {paid} you were paid)").format(
            paid=money(w["paid"], currency, lang)
        )
    return text


def line_text(line: Line, lang: str) -> str:
    name, rule = _(LINE_NAMES.get(line.label, line.label)), line.rule
    text = f"{name}: {money(line.amount, line.currency, lang)}\n{working_of(line, lang)}"
    if rule.law:
        cited = f"{rule.law}, {rule.section}" if rule.section else rule.law
        text += "\n" + _("Rule: {rule}").format(rule=cited)
    if line.unverified:
        text += "\n" + _("This figure is not yet confirmed: it should be checked.")
    return text


def result_text(turn: Turn, result: Result) -> str:
    """The whole result, paragraph by paragraph (split into phone screens by the caller)."""
    lang, country = turn.locale, result.country
    paragraphs = [_("What you may be owed in {country}:").format(country=country_name(country))]
    paragraphs += [line_text(line, lang) for line in result.lines]
    for item in result.uncertain:
        why = _(REASONS.get(item.reason, OTHER_REASON))
        name = _(LINE_NAMES.get(item.label, item.label))
        paragraphs.append(_("Not computed - {name}: {why}").format(name=name, why=why))
    skipped = [
        _(LINE_NAMES[label])
        for label in not_counted(country, result.sector, turn.services.kb.figures)
    ]
    if skipped:
        paragraphs.append(
            _(
                "Not counted for {country}: {names}. A person from our team can look at them."
            ).format(country=country_name(country), names=", ".join(skipped))
        )
    if result.lines:
        total = _("Total: {total}").format(total=money(result.total, result.currency, lang))
        if result.unverified:
            total += " " + _("(some figures still need checking)")
        paragraphs.append(total)
    else:
        paragraphs.append(
            _("With these answers I could not compute any amount owed.")
            if result.uncertain
            else _("With these answers the calculator finds nothing owed under the rules it knows.")
        )
    disclaimer = _(
        "This is an estimate, not legal advice: the labour department or the embassy "
        "decides what you are owed."
    )
    referral = turn.services.kb.referral(country)
    if referral is not None and referral.embassy_name:
        disclaimer += (
            " "
            + _("Embassy: {name} {hotline}")
            .format(name=referral.embassy_name, hotline=referral.embassy_hotline)
            .strip()
        )
    paragraphs.append(disclaimer)
    return "\n\n".join(paragraphs)


async def show_result(turn: Turn) -> None:
    session = turn.session
    claim = claim_of(session.country or "", session.data)
    result = calculate(claim, turn.services.kb.figures, rules())
    for part in screen_parts(result_text(turn, result)):
        turn.say(part)
    if not (result.lines or result.uncertain):
        session.clear_flow()
        turn.say(
            _("If something else went wrong at work, you can report it."),
            [
                Button(_("Report a problem"), "menu:complaint"),
                human_button(),
                Button(_("Menu"), "menu"),
            ],
        )
        return
    # Only the sheet is kept, until the worker says yes or no: then it goes.
    session.data = {"sheet": sheet(result, claim)}
    ask_consent(turn)


def ask_consent(turn: Turn, why: str = "") -> None:
    turn.session.step = "consent"
    if why:
        turn.say(why)
    turn.say(
        _("Attach this to your case as a claim sheet for our team?"),
        [Button(_("Yes"), "calc:consent:yes"), Button(_("No"), "calc:consent:no")],
    )


SUMMARY = "Claim sheet from the rights calculator"  # for the team, not the worker


async def consent(turn: Turn, yes: bool) -> None:
    """Yes: the sheet goes on the worker's open case, or on a new complaint case. No:
    nothing is kept."""
    session = turn.session
    claim_sheet = session.data.get("sheet")
    session.clear_flow()
    if not yes or claim_sheet is None:
        turn.say(_("All right: nothing was saved."), [Button(_("Menu"), "menu")])
        return
    cases = turn.services.cases
    case = await cases.open_case_of(session.sender)
    opened = case is None
    if case is None:
        # A retry of this answer (after a crash) finds this case again (its key).
        escalated = await turn.escalate(
            "complaint",
            "complaint",
            "complaint_employer",
            Priority.NORMAL,
            summary=SUMMARY,
            details={"against": "employer", "source": "calculator"},
            new_case=True,
        )
        case = escalated.case
    await cases.add_event_once(case.id, "claim_sheet", claim_sheet, turn.message_key)
    if opened:
        turn.say(
            _(
                "I opened a case with your claim sheet. Your case number is {case}: please "
                "keep it. A person from our team will contact you here."
            ).format(case=case.id)
        )
        turn.say(await wait_notice(turn, case))
    else:
        turn.say(
            _("The claim sheet is attached to your case {case}. Our team will see it.").format(
                case=case.id
            )
        )
