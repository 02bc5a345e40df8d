"""Greetings, thanks, goodbye, yes/no out of context, and the polite redirect."""

from __future__ import annotations

from bot.i18n import _
from flows.base import Turn, human_button, menu_buttons


def greet(turn: Turn) -> None:
    turn.say(_("Hello! How can I help you?"), menu_buttons())


def thanks(turn: Turn) -> None:
    turn.say(_("You are welcome. Write any time you need help."))


def goodbye(turn: Turn) -> None:
    turn.session.clear_flow()
    turn.say(_("Take care. Write any time you need help."))


def menu(turn: Turn) -> None:
    turn.session.clear_flow()
    turn.say(_("How can I help you?"), menu_buttons())


def out_of_scope(turn: Turn) -> None:
    turn.say(
        _(
            "Sorry, I can only help with work and rights abroad: questions about your "
            "rights, reporting a problem, or talking to a person."
        ),
        menu_buttons(),
    )


def nlu_down(turn: Turn) -> None:
    turn.say(
        _(
            "Sorry, I cannot understand messages right now because of a technical problem. "
            "A person from our team can help you, or choose from the menu."
        ),
        [human_button(), *menu_buttons()[:2]],
    )


def unknown_button(turn: Turn) -> None:
    turn.say(_("That button is no longer valid. Here is the menu:"), menu_buttons())
