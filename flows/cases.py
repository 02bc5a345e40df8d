"""Case status: the worker's cases and where each stands."""

from __future__ import annotations

import datetime as dt

from bot.i18n import N_, _, format_date, ngettext
from bot.store.cases import Status
from flows.base import Turn, menu_buttons

STATUS_NAMES = {
    Status.NEW.value: N_("waiting for an operator"),
    Status.CLAIMED.value: N_("an operator is working on it"),
    Status.WAITING.value: N_("waiting for your answer"),
    Status.REFERRED.value: N_("referred to a partner organisation"),
    Status.RESOLVED.value: N_("resolved"),
    Status.CLOSED.value: N_("closed"),
}


async def show(turn: Turn) -> None:
    cases = await turn.services.cases.of_sender(turn.session.sender)
    turn.session.clear_flow()
    if not cases:
        turn.say(_("You have no cases with us yet."), menu_buttons())
        return
    lines = [ngettext("You have {n} case:", "You have {n} cases:", len(cases)).format(n=len(cases))]
    for case in cases[:10]:
        opened = format_date(dt.datetime.fromtimestamp(case.created_at, tz=dt.UTC))
        status = _(STATUS_NAMES.get(case.status, case.status))
        lines.append(
            _("{case}: {status} (opened {date})").format(case=case.id, status=status, date=opened)
        )
    turn.say("\n".join(lines), menu_buttons())
