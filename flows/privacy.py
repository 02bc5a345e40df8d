"""The privacy notice and "delete my data"."""

from __future__ import annotations

from bot.i18n import _
from bot.messages import Button
from flows.base import Turn
from flows.onboarding import privacy_notice


def show(turn: Turn) -> None:
    turn.say(privacy_notice(), [Button(_("Delete my data"), "delete")])


def ask_delete(turn: Turn) -> None:
    turn.session.flow, turn.session.step = "privacy", "delete?"
    turn.say(
        _(
            "This erases your conversation, your language and country, and removes your "
            "name and messages from your cases. The case numbers and what our team did stay "
            "on record, without your details. Erase now?"
        ),
        [Button(_("Yes, erase my data"), "delete:confirm"), Button(_("No"), "delete:cancel")],
    )


async def delete(turn: Turn) -> None:
    services, sender = turn.services, turn.session.sender
    count = await services.cases.unlink_sender(sender)
    await services.sessions.delete(sender)
    await services.outbox.delete(sender)
    await services.evidence.delete_of(sender)
    turn.erased = True
    turn.say(
        _("Your data has been erased ({count} case records unlinked). Take care.").format(
            count=count
        )
    )


def cancel(turn: Turn) -> None:
    turn.session.clear_flow()
    turn.say(_("Nothing was erased."))
