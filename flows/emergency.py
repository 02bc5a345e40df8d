"""Emergencies: numbers at once, a critical case on the operator queue, "are you safe?"."""

from __future__ import annotations

from bot.i18n import _
from bot.messages import Button
from bot.store.cases import Case, Priority
from bot.store.escalations import Escalation
from flows.base import Turn
from flows.onboarding import privacy_notice
from flows.waiting import numbers_text, wait_notice


async def open_emergency(turn: Turn, intent: str, summary: str) -> Case:
    """A critical case on the operator queue; an open case is raised, not duplicated."""
    services, session = turn.services, turn.session
    case = await services.cases.open_case_of(session.sender)
    if case is None:
        case = await services.cases.open(
            sender=session.sender,
            category="emergency",
            intent=intent,
            priority=Priority.CRITICAL,
            country=turn.country,
            locale=turn.locale,
            summary=summary,
        )
        await services.escalations.put(
            Escalation(case.id, case.priority, "emergency", session.sender, summary[:200])
        )
    elif await services.cases.raise_priority(case, Priority.CRITICAL):
        await services.escalations.put(
            Escalation(case.id, case.priority, "emergency", session.sender, summary[:200])
        )
    session.case_id = case.id
    return case


async def start(turn: Turn, intent: str) -> None:
    turn.say(
        _(
            "Your safety comes first. If you are in danger right now, call the emergency "
            "number below, or the Indonesian embassy or consulate."
        )
        + "\n"
        + numbers_text(turn)
    )
    case = await open_emergency(turn, intent, turn.inbound.text)
    turn.session.flow, turn.session.step = "emergency", "safe?"
    outlook = await turn.services.on_duty.outlook()
    if not outlook.staffed:
        turn.say(
            _(
                "Our team is not on duty right now (they work {hours}), so an answer here "
                "may take hours. Please call the numbers above now if you can."
            ).format(hours=outlook.hours)
        )
    turn.say(
        _(
            "I have alerted our team: a person will write to you here as soon as possible "
            "(case {case}). Are you safe now?"
        ).format(case=case.id),
        [Button(_("I am safe now"), "safe:yes"), Button(_("I am not safe"), "safe:no")],
    )
    if outlook.staffed and case.assignee is None:
        turn.say(await wait_notice(turn, case))
    if turn.session.is_new:
        # First contact was a crisis: the privacy notice comes after the help, not before.
        turn.say(privacy_notice())
        turn.session.privacy_shown = True


async def answer_safe(turn: Turn, safe: bool) -> None:
    case_id = turn.session.case_id
    if case_id:
        await turn.services.cases.add_event(case_id, "worker_safety", {"safe": safe})
    turn.session.clear_flow()
    if safe:
        turn.say(
            _(
                "Thank you. Stay in this chat: a person from our team will write to you "
                "here. Everything you write is added to your case."
            )
        )
    else:
        turn.say(
            _(
                "Our team has been told that this is urgent. If you can, call the emergency "
                "number now. Keep your phone with you and write to us here when you can."
            )
            + "\n"
            + numbers_text(turn)
        )
