"""The privacy notice and "delete my data"."""

from __future__ import annotations

from bot.i18n import _
from bot.messages import Button, Outbound
from flows import attachments
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
    """Erases the worker's words, ids and files; the case records stay, anonymous. Works
    the same when an operator has the conversation: it ends there, and the operator sees
    that the worker erased their data."""
    services, sender = turn.services, turn.session.sender
    await attachments.cancel_timer(turn)
    for case in await services.cases.of_sender(sender):
        # A queue entry carries the worker's id and words: it goes too.
        await services.escalations.done(case.id)
    count = await services.cases.unlink_sender(sender)
    await services.alerts.unsubscribe(sender, None)  # every country: wherever they were
    await services.sessions.delete(sender)
    await services.outbox.delete(sender)
    await services.evidence.delete_of(sender)
    await services.waiting.delete_of(sender)
    await services.erasures.erased(sender)
    turn.erased = True
    turn.replies.append(
        Outbound(
            text=_("Your data has been erased ({count} case records unlinked). Take care.").format(
                count=count
            ),
            event="erased",
        )
    )


def cancel(turn: Turn) -> None:
    turn.session.clear_flow()
    turn.say(_("Nothing was erased."))
