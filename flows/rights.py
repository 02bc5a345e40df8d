"""Rights questions, answered from the reviewed knowledge base."""

from __future__ import annotations

import datetime as dt

from bot.i18n import _, format_date
from bot.kb import TOPICS
from bot.messages import Button
from flows.base import Turn, human_button, menu_buttons


def topic_of(intent: str) -> str | None:
    topic = intent.removeprefix("rights_")
    return topic if topic in TOPICS else None


def topic_buttons(turn: Turn, topics: list[str]) -> list[Button]:
    return [Button(turn.services.kb.title(t, turn.locale), f"topic:{t}") for t in topics]


def _reviewed(text: str) -> str:
    try:
        return format_date(dt.date.fromisoformat(text))
    except ValueError:
        return text


def answer(turn: Turn, topic: str) -> None:
    found = turn.services.kb.answer(topic, turn.country, turn.locale)
    if found is None:
        turn.say(
            _("I do not have a reviewed answer on this yet. A person from our team can help."),
            [human_button()],
        )
        return
    footer = _("Source: {source}. Last reviewed: {date}.").format(
        source=found.source, date=_reviewed(found.reviewed)
    )
    turn.say(found.text + "\n\n" + footer)
    turn.session.flow, turn.session.step = "rights", "helped?"
    turn.session.data["topic"] = topic
    turn.say(
        _("Did this help?"),
        [Button(_("Yes, thanks"), "helped:yes"), Button(_("No"), "helped:no"), human_button()],
    )


def suggest(turn: Turn, topics: list[str]) -> None:
    """When the model is unsure: the likeliest topics as buttons, and a person."""
    turn.say(
        _("I am not sure I understood. Is your question about one of these?"),
        [*topic_buttons(turn, topics[:3]), human_button()],
    )


def choose_topic(turn: Turn) -> None:
    turn.say(_("What is your question about?"), topic_buttons(turn, list(TOPICS)))


def helped(turn: Turn, yes: bool) -> None:
    topic = turn.session.data.get("topic")
    turn.session.clear_flow()
    if yes:
        turn.say(_("Glad it helped. Anything else?"), menu_buttons())
    else:
        if topic:
            turn.session.data["unhelpful_topic"] = topic
        turn.say(
            _("Sorry about that. A person from our team can look at your situation."),
            [human_button(), Button(_("Menu"), "menu")],
        )
