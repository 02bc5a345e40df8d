"""After a case closes, the worker is asked one question: how helpful was this (1-5),
with an optional comment. The answers show on the case and in the reports."""

from __future__ import annotations

from collections.abc import Callable

from bot.i18n import _
from bot.messages import Button
from flows.base import Turn

SCORES = range(1, 6)
MAX_COMMENT = 1000


def survey_question(case_id: str) -> str:
    return _(
        "One question about case {case}: how helpful was our help? "
        "1 = not at all, 5 = very helpful."
    ).format(case=case_id)


def survey_buttons(case_id: str) -> Callable[[], list[Button]]:
    return lambda: [Button(str(score), f"rate:{case_id}:{score}") for score in SCORES]


async def rate(turn: Turn, case_id: str, raw: str) -> None:
    """A score pressed: kept on the case (only the case's own worker can rate it), then
    an optional comment is asked for."""
    case = await turn.services.cases.get(case_id)
    if case is None or case.sender != turn.session.sender or not raw.isdigit():
        turn.say(_("Thank you."))
        return
    score = min(max(int(raw), 1), 5)
    await turn.services.cases.rate(case, score)
    turn.session.flow, turn.session.step = "feedback", "comment"
    turn.session.data = {"case_id": case_id}
    turn.say(
        _("Thank you! If you like, write a few words about what we could do better."),
        [Button(_("No, thanks"), "rate:skip")],
    )


async def comment(turn: Turn, text: str) -> None:
    """The worker's comment on the help they got (the next message after the score)."""
    case_id = str(turn.session.data.get("case_id", ""))
    turn.session.clear_flow()
    case = await turn.services.cases.get(case_id)
    if case is not None and case.sender == turn.session.sender and text.strip():
        await turn.services.cases.rate(case, comment=text.strip()[:MAX_COMMENT])
    turn.say(_("Thank you for telling us. Take care."))


def skip(turn: Turn) -> None:
    turn.session.clear_flow()
    turn.say(_("Thank you. Take care."))
