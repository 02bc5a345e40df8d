"""Emergencies: help first, a person at once, "are you safe?" last.

What the worker sees, in this order: the numbers to call now (their own country's only;
when the country is unknown, the Indonesian lines that work from anywhere and a question
for the country), that a person from the team will write here shortly, and "are you safe
now?". No place in the queue, and no privacy notice before help: the notice comes with
the next turn or with the operator's first message.

Self-harm has its own words: calm and short, no judgement, the crisis line of the
worker's country. "I am not safe" raises the case, marks it and announces it again at
once (bot/queue_watch.py takes it to supervisors if nobody claims it soon).
"""

from __future__ import annotations

from bot.i18n import _
from bot.kb import Referral, is_number
from bot.messages import Button
from bot.store.cases import DETECTED_LATE, NOT_SAFE, SELF_HARM, Case, Priority
from bot.store.intake import Escalated
from flows.base import Turn
from flows.onboarding import country_buttons, country_name

SELF_HARM_INTENT = "emergency_self_harm"
# The intent of an emergency the worker did not describe (a pin answered "I am in
# danger", a code word): the operator finds out what it is.
UNSPECIFIED = "emergency_unspecified"


def safe_buttons() -> list[Button]:
    return [Button(_("I am safe now"), "safe:yes"), Button(_("I am not safe"), "safe:no")]


def _local_lines(referral: Referral) -> list[str]:
    lines = []
    if is_number(referral.emergency_number):
        lines.append(
            _("Emergency (police, ambulance) in {country}: {number}").format(
                country=country_name(referral.country), number=referral.emergency_number
            )
        )
    if is_number(referral.embassy_hotline):
        lines.append(f"{referral.embassy_name}: {referral.embassy_hotline}")
    if is_number(referral.embassy_whatsapp):
        lines.append(_("{name} on WhatsApp: {number}").format(
            name=referral.embassy_name, number=referral.embassy_whatsapp
        ))  # fmt: skip
    return lines


def anywhere_lines(turn: Turn) -> list[str]:
    """The Indonesian lines a worker can reach from any country."""
    home = turn.services.kb.referral("indonesia")
    if home is None:
        return []
    lines = []
    if is_number(home.embassy_hotline):
        whatsapp = (
            _(", WhatsApp {number}").format(number=home.embassy_whatsapp)
            if is_number(home.embassy_whatsapp)
            else ""
        )
        lines.append(f"{home.embassy_name}: {home.embassy_hotline}{whatsapp}")
    for partner in home.partners:
        if partner.get("key") == "kemlu_pwni" and is_number(str(partner.get("phone", ""))):
            lines.append(f"{partner.get('name')}: {partner.get('phone')}")
    return lines


def numbers_text(turn: Turn) -> str:
    """Who to call now: the worker's country's numbers, else the Indonesian lines."""
    referral = turn.services.kb.referral(turn.country)
    lines = _local_lines(referral) if referral is not None else []
    if not lines:
        lines = anywhere_lines(turn)
    return "\n".join(lines)


def crisis_text(turn: Turn) -> str:
    """The crisis line of the worker's country, with the emergency number beside it."""
    referral = turn.services.kb.referral(turn.country)
    lines = []
    if referral is not None and is_number(referral.crisis_line):
        hours = f" ({referral.crisis_line_hours})" if referral.crisis_line_hours else ""
        lines.append(f"{referral.crisis_line_name}: {referral.crisis_line}{hours}")
    if referral is not None and is_number(referral.emergency_number):
        lines.append(
            _("Emergency (police, ambulance) in {country}: {number}").format(
                country=country_name(referral.country), number=referral.emergency_number
            )
        )
    if not lines:
        lines = anywhere_lines(turn)
    return "\n".join(lines)


async def open_emergency(
    turn: Turn,
    intent: str,
    summary: str,
    *,
    marks: tuple[str, ...] = (),
    key: str | None = None,
) -> Escalated:
    """A critical case on the operator queue, in one step; an open case is raised."""
    return await turn.escalate(
        "emergency", "emergency", intent, Priority.CRITICAL, summary=summary, marks=marks, key=key
    )


async def start(turn: Turn, intent: str, *, marks: tuple[str, ...] = ()) -> None:
    self_harm = intent == SELF_HARM_INTENT
    if self_harm:
        marks = (*marks, SELF_HARM)
    escalated = await open_emergency(turn, intent, turn.inbound.text, marks=marks)
    case = escalated.case
    session = turn.session
    session.flow, session.step = "emergency", "safe?"
    # Already an emergency on record, nothing new: short, no second full script.
    known = not (escalated.opened or escalated.raised or escalated.new_marks)
    if self_harm:
        help_text = _self_harm_words()
    elif known:
        help_text = _(
            "Our team already has your case {case} as an emergency. If you are in "
            "danger right now, call:"
        ).format(case=case.id)
    else:
        help_text = _("Your safety comes first. If you are in danger right now, call:")
    help_text += "\n" + (crisis_text(turn) if self_harm else numbers_text(turn))
    if turn.country is None:
        # The question for the country goes with the numbers it would change: one
        # message, so that a first contact stays within three (issue 22).
        turn.say(
            help_text
            + "\n\n"
            + _("Which country are you in? I will give you the local emergency numbers."),
            country_buttons(),
        )
    else:
        turn.say(help_text)
    await _person_coming(turn, case, known=known)
    turn.say(_("Are you safe now?"), safe_buttons())
    if session.is_new:
        # First contact was a crisis: the privacy notice waits until after the help.
        session.privacy_shown = True
        session.privacy_pending = True


def _self_harm_words() -> str:
    return _(
        "Thank you for telling me. You are not alone, and what you feel matters. "
        "If you might hurt yourself now, please call:"
    )


async def _person_coming(turn: Turn, case: Case, *, known: bool) -> None:
    outlook = await turn.services.on_duty.outlook()
    if case.assignee is not None:
        turn.say(
            _("{name} from our team is on your case {case} and has been told.").format(
                name=case.assignee, case=case.id
            )
        )
        return
    if not outlook.staffed:
        turn.say(
            _(
                "Our team is not on duty right now (they work {hours}), so an answer here "
                "may take hours. Please call the numbers above now if you can. Your case "
                "is {case}."
            ).format(hours=outlook.hours, case=case.id)
        )
        return
    if not known:
        turn.say(
            _("A person from our team will write to you here shortly (case {case}).").format(
                case=case.id
            )
        )


async def detected_late(turn: Turn, intent: str) -> None:
    """A message kept while the NLU was down reads as an emergency once it is back."""
    marks: tuple[str, ...] = (DETECTED_LATE,)
    if intent == SELF_HARM_INTENT:
        marks = (*marks, SELF_HARM)
    escalated = await open_emergency(turn, intent, turn.inbound.text, marks=marks)
    session = turn.session
    if session.owner != "bot":
        return  # an operator has the conversation: the case page shows it
    session.flow, session.step = "emergency", "safe?"
    turn.say(
        _(
            "I could not read your earlier message properly because of a technical "
            "problem. I have read it again now and alerted our team (case {case}): a "
            "person will write to you here shortly. If you are in danger right now, call:"
        ).format(case=escalated.case.id)
        + "\n"
        + (crisis_text(turn) if intent == SELF_HARM_INTENT else numbers_text(turn))
    )
    turn.say(_("Are you safe now?"), safe_buttons())


async def country_given(turn: Turn) -> None:
    """The worker named their country during an emergency: that country's numbers."""
    turn.say(
        _("If you are in danger right now, call:") + "\n" + numbers_text(turn),
    )
    turn.say(_("Are you safe now?"), safe_buttons())


async def answer_safe(turn: Turn, safe: bool) -> None:
    session = turn.session
    case_id = session.case_id
    if case_id:
        await turn.services.cases.add_event(case_id, "worker_safety", {"safe": safe})
    session.clear_flow()
    if safe:
        turn.say(
            _(
                "Thank you. Stay in this chat: a person from our team will write to you "
                "here. Everything you write is added to your case."
            )
        )
        return
    escalated = await open_emergency(
        turn,
        UNSPECIFIED,
        turn.inbound.text or _("The worker says they are not safe."),
        marks=(NOT_SAFE,),
        key=f"{turn.message_key}:not-safe",
    )
    await turn.services.intake.announce(escalated.case, reason=NOT_SAFE)
    self_harm = SELF_HARM in escalated.case.marks
    turn.say(
        _(
            "Our team has been told again, now, that this is urgent and you are not safe. "
            "If you can, call now:"
        )
        + "\n"
        + (crisis_text(turn) if self_harm else numbers_text(turn))
        + "\n"
        + _("Keep your phone with you and write to us here when you can.")
    )
