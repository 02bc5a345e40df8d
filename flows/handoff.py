"""Talk to a person: from anywhere, including in the middle of another flow; and "stop",
which a worker can send even while an operator has the conversation."""

from __future__ import annotations

import time

from bot.i18n import _
from bot.store.cases import Priority
from flows.base import Turn
from flows.waiting import still_in_queue, wait_notice


async def start(turn: Turn) -> None:
    services, session = turn.services, turn.session
    session.clear_flow()
    if turn.waiting_case is not None:
        await still_in_queue(turn, asked=True)
        return
    escalated = await turn.escalate(
        "human", "other", "request_human", Priority.NORMAL, summary=turn.inbound.text
    )
    case = escalated.case
    await services.cases.add_event(case.id, "human_requested", {})
    if case.assignee is not None:
        turn.say(
            _("A person from our team is already on your case {case} and will write here.").format(
                case=case.id
            )
        )
        return
    turn.say(
        _(
            "I have asked a person from our team to take over (case {case}). You can keep "
            "writing here: everything is added to your case."
        ).format(case=case.id)
    )
    turn.say(await wait_notice(turn, case))


async def stop(turn: Turn) -> None:
    """The worker asked us to stop writing: the operator is told, and cannot send more
    until the worker writes again. The case stays open."""
    session = turn.session
    session.stopped_at = time.time()
    if session.case_id:
        await turn.services.cases.add_event(session.case_id, "worker_stopped", {})
    turn.say(
        _(
            "Understood: our team will not write to you unless you write again. Your case "
            "{case} stays open; write here any time."
        ).format(case=session.case_id or "-")
    )
