"""Talk to a person: from anywhere, including in the middle of another flow."""

from __future__ import annotations

from bot.i18n import _
from bot.store.cases import Priority
from bot.store.escalations import Escalation
from flows.base import Turn
from flows.waiting import wait_notice


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
