"""Rights questions, answered from the reviewed knowledge base."""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

from bot.i18n import N_, _, format_date
from bot.kb import TOPIC_GROUPS, TOPICS, screen_parts, short_source
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
    # One phone screen at a time (the rest behind "More"), a short source line a worker
    # reads - with when its figures were last checked - and the full citation one tap away.
    parts = screen_parts(found.text)
    footer = _("Source: {source}, checked {date}.").format(
        source=short_source(found.source),
        date=_reviewed(found.figures_checked or found.reviewed),
    )
    buttons = [Button(_("More"), f"more:{topic}:1")] if len(parts) > 1 else []
    buttons.append(Button(_("Full source"), f"source:{topic}"))
    turn.say(parts[0] + "\n\n" + footer, buttons)
    if ask:
        follow_up(turn, topic, report)
    return True


def more(turn: Turn, topic: str, part: int) -> None:
    """The next screen of a long answer ("More")."""
    found = turn.services.kb.answer(topic, turn.country, turn.locale)
    parts = screen_parts(found.text) if found else []
    if not 0 < part < len(parts):
        turn.say(_("That was all of it."))
        return
    buttons = [Button(_("More"), f"more:{topic}:{part + 1}")] if part + 1 < len(parts) else []
    turn.say(parts[part], buttons)


def full_source(turn: Turn, topic: str) -> None:
    """The full citation of an answer, and when it was reviewed."""
    found = turn.services.kb.answer(topic, turn.country, turn.locale)
    if found is None:
        turn.say(_("That was all of it."))
        return
    turn.say(
        _("Source: {source}. Last reviewed: {date}.").format(
            source=found.source, date=_reviewed(found.reviewed)
        )
        + (
            " " + _("Figures checked: {date}.").format(date=_reviewed(found.figures_checked))
            if found.figures_checked
            else ""
        )
    )


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
    buttons = [Button(_("Yes, thanks"), "helped:yes"), Button(_("No"), "helped:no")]
    if topic == "families":
        # A family member who still cannot reach someone: report it to us, step by step.
        turn.say(
            _("Did this help? If you still cannot reach them, you can report it to us."),
            [Button(_("Report someone missing"), "family:start"), *buttons, human_button()],
        )
        return
    turn.say(_("Did this help?"), [*buttons, human_button()])


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


GROUP_NAMES = {
    "work": N_("Pay, hours, contract"),
    "papers": N_("Papers, agencies, scams"),
    "health": N_("Health and safety"),
    "money": N_("Debts, BPJS, going home"),
    "family": N_("Families, before leaving"),
}


def choose_topic(turn: Turn) -> None:
    """The topics in groups: a phone screen (and WhatsApp's list of ten) holds a group."""
    turn.say(
        _("What is your question about?"),
        [Button(_(name), f"topics:{group}") for group, name in GROUP_NAMES.items()],
    )


def choose_in_group(turn: Turn, group: str) -> None:
    buttons = topic_buttons(turn, list(TOPIC_GROUPS[group]))
    if group == "work":
        buttons.append(Button(_("What am I owed?"), "calc"))
    turn.say(_("Choose a topic:"), buttons)


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
