"""Talk to a person: from anywhere, including in the middle of another flow."""

from __future__ import annotations

from bot.i18n import _, format_number, ngettext
from bot.store.cases import Case, Priority
from bot.store.escalations import Escalation
from flows.base import Turn
from flows.emergency import numbers_text


async def start(turn: Turn) -> None:
    services, session = turn.services, turn.session
    session.clear_flow()
    case = await services.cases.open_case_of(session.sender)
    if case is None:
        case = await services.cases.open(
            sender=session.sender,
            category="other",
            intent="request_human",
            priority=Priority.NORMAL,
            country=turn.country,
            locale=turn.locale,
            summary=turn.inbound.text,
        )
    session.case_id = case.id
    await services.cases.add_event(case.id, "human_requested", {})
    if case.assignee is not None:
        turn.say(
            _("A person from our team is already on your case {case} and will write here.").format(
                case=case.id
            )
        )
        return
    await services.escalations.put(
        Escalation(case.id, case.priority, "human", session.sender, turn.inbound.text[:200])
    )
    turn.say(
        _(
            "I have asked a person from our team to take over (case {case}). You can keep "
            "writing here: everything is added to your case."
        ).format(case=case.id)
    )
    turn.say(await wait_notice(turn, case))


async def wait_notice(turn: Turn, case: Case) -> str:
    """The worker's place in the queue and an honest expectation; outside staffed hours,
    that nobody may answer until the team is back, with the emergency numbers."""
    outlook = await turn.services.on_duty.outlook()
    if not outlook.staffed:
        return (
            _(
                "Our team is not on duty now (they work {hours}); a person will answer "
                "when they are back. If you are in danger, do not wait: call these numbers."
            ).format(hours=outlook.hours)
            + "\n"
            + numbers_text(turn)
        )
    lines = []
    place = await turn.services.escalations.position(case.id)
    if place is not None:
        lines.append(_("You are number {place} in the queue.").format(place=format_number(place)))
    if outlook.online:
        lines.append(
            ngettext(
                "{n} person from our team is online now.",
                "{n} people from our team are online now.",
                outlook.online,
            ).format(n=format_number(outlook.online))
        )
    else:
        lines.append(
            _(
                "Nobody from our team is at the screen this minute; they have been told "
                "and will answer as soon as they can. Our operators are NGO staff and "
                "volunteers."
            )
        )
    if outlook.typical_minutes is not None:
        lines.append(
            ngettext(
                "Recently people waited about {n} minute.",
                "Recently people waited about {n} minutes.",
                outlook.typical_minutes,
            ).format(n=format_number(outlook.typical_minutes))
        )
    return " ".join(lines)
