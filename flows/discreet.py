"""The code word: a worker who may be watched asks for help without saying so.

The helpline publishes one or more harmless phrases (HELPLINE_CODE_WORDS). A worker who
sends one, on any channel, gets a harmless answer - nothing an employer reading over
their shoulder would notice - and a critical case marked "worker may be watched - write
neutrally" goes on the queue.
"""

from __future__ import annotations

import re
import unicodedata

from bot.i18n import _
from bot.store.cases import WATCHED
from flows import emergency
from flows.base import Turn

_NON_WORD = re.compile(r"[^\w]+")


def normalise(text: str) -> str:
    """Lower case, no accents or punctuation, single spaces: how code words compare."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", plain).split())


def is_code_word(turn: Turn) -> bool:
    words = turn.services.settings.code_words
    text = turn.inbound.text
    if not words or not text or turn.inbound.payload is not None:
        return False
    padded = f" {normalise(text)} "
    return any(f" {normalise(word)} " in padded for word in words if normalise(word))


async def code_word(turn: Turn) -> None:
    escalated = await emergency.open_emergency(
        turn, emergency.UNSPECIFIED, turn.inbound.text, marks=(WATCHED,)
    )
    if escalated.queued not in ("added", "raised"):
        # Already queued or with an operator: they must hear it now all the same.
        await turn.services.intake.announce(escalated.case, reason="watched")
    turn.session.clear_flow()
    turn.say(_("OK, noted. Thank you! 🙂"))
