"""What a worker waiting for a person is told: the emergency numbers for their country,
their place in the queue and an honest expectation."""

from __future__ import annotations

from bot.i18n import _, format_number, ngettext
from bot.kb import Referral
from bot.nlu.countries import COUNTRIES
from bot.store.cases import Case
from flows.base import Turn
from flows.onboarding import country_name


def _numbers(referral: Referral) -> str:
    return _("In {country}: emergency {emergency}. {embassy}: {hotline}.").format(
        country=country_name(referral.country),
        emergency=referral.emergency_number,
        embassy=referral.embassy_name,
        hotline=referral.embassy_hotline,
    )


def numbers_text(turn: Turn) -> str:
    """The local emergency number and the embassy hotline; all countries when unknown."""
    referral = turn.services.kb.referral(turn.country)
    if referral is not None:
        return _numbers(referral)
    lines = [_numbers(ref) for c in COUNTRIES if (ref := turn.services.kb.referral(c)) is not None]
    return "\n".join(lines)


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
