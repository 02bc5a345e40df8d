"""Rights questions, answered from the reviewed knowledge base."""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

from bot.i18n import _, format_date
from bot.kb import TOPICS
from bot.messages import Button
from flows.base import Turn, human_button, menu_buttons


class Report(TypedDict):
    """A grievance the worker may report after the answer: the complaint intent it would
    open, and the worker's own words (the start of the intake's description)."""

    intent: str
    text: str


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


def answer(turn: Turn, topic: str, *, report: Report | None = None, ask: bool = True) -> bool:
    """The reviewed answer, then one question: "Do you want to report this?" when the
    worker's words sound like a grievance (``report``), else "Did this help?". With
    ``ask=False`` the caller asks the next question itself. False when there is no
    reviewed answer (the worker is offered a person instead)."""
    found = turn.services.kb.answer(topic, turn.country, turn.locale)
    if found is None:
        turn.say(
            _("I do not have a reviewed answer on this yet. A person from our team can help."),
            [human_button()],
        )
        return False
    footer = _("Source: {source}. Last reviewed: {date}.").format(
        source=found.source, date=_reviewed(found.reviewed)
    )
    turn.say(found.text + "\n\n" + footer)
    if ask:
        follow_up(turn, topic, report)
    return True


def follow_up(turn: Turn, topic: str, report: Report | None = None) -> None:
    """The one question after an answer."""
    turn.session.clear_flow()
    turn.session.data["topic"] = topic
    if report is not None:
        turn.session.flow, turn.session.step = "rights", "report?"
        turn.session.data["report"] = report
        turn.say(
            _("Do you want to report this?"),
            [Button(_("Yes, report it"), "report:yes"), Button(_("No"), "report:no")],
        )
        return
    turn.session.flow, turn.session.step = "rights", "helped?"
    turn.say(
        _("Did this help?"),
        [Button(_("Yes, thanks"), "helped:yes"), Button(_("No"), "helped:no"), human_button()],
    )


def report_offered(turn: Turn) -> Report | None:
    """What the worker may report, while "Do you want to report this?" waits."""
    session = turn.session
    if session.flow == "rights" and session.step == "report?":
        report: Report | None = session.data.get("report")
        return report
    return None


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
