"""What a worker waiting for a person is told: their place in the queue and an honest
expectation (emergencies get no place number: a person writes shortly), and while they
wait, that they are still in the queue - at most every few minutes, never the menu."""

from __future__ import annotations

import time

from bot.i18n import _, format_number, ngettext
from bot.store.cases import Case
from flows.base import Turn
from flows.emergency import numbers_text


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


async def still_in_queue(turn: Turn, *, asked: bool = False) -> None:
    """A worker waiting for a person wrote again: their words are on the case already.
    They are told they are still in the queue, but not more often than the setting -
    unless they ``asked`` for a person again."""
    session, case = turn.session, turn.waiting_case
    if case is None:
        return
    now = time.time()
    if not asked and now - session.queue_notice_at < turn.services.settings.queue_notice_seconds:
        return
    session.queue_notice_at = now
    if case.is_critical:
        turn.say(
            _(
                "You are still waiting for a person from our team (case {case}); they know "
                "it is urgent. Everything you write here is added to your case. If you are "
                "in danger right now, call:"
            ).format(case=case.id)
            + "\n"
            + numbers_text(turn)
        )
        return
    turn.say(
        _(
            "You are still in the queue for a person from our team (case {case}). "
            "Everything you write here is added to your case, so you do not need to "
            "write it again."
        ).format(case=case.id)
    )
