"""Photos, documents, videos, voice notes and location pins.

Every form a worker uses goes through the same safety decision as text: a caption is
read like a message (an emergency caption opens a critical case with the file on it);
a voice note nobody can read is put in front of a person to listen to; a bare location
pin is answered "are you in danger now?", and if nobody answers, goes to an operator
anyway. What arrives while no case is open is kept for the next case (WaitingEvidence);
a file that could not be kept is still recorded, so the operator sees what is missing.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from bot.i18n import N_, _
from bot.messages import NOT_FETCHED, TOO_LARGE, Button, MediaRef
from bot.store.cases import LISTEN, LOCATION_ONLY, Priority
from flows import emergency
from flows.base import Turn, human_button

LOCATION_TIMER = "location"
KIND_NAMES = {
    "image": N_("photo"),
    "document": N_("document"),
    "video": N_("video"),
    "audio": N_("voice note"),
}


def kind_name(media: MediaRef) -> str:
    return _(KIND_NAMES.get(media.kind, N_("file")))


def timeline_entry(turn: Turn) -> tuple[str, dict[str, Any]]:
    """What this message adds to a case's timeline: its kind and data."""
    inbound = turn.inbound
    if inbound.location is not None:
        where = inbound.location
        return "location", {
            "location": {"latitude": where.latitude, "longitude": where.longitude},
            "valid": where.valid,
            "text": inbound.text,
        }
    if inbound.media is not None:
        return "media", {"media": asdict(inbound.media), "text": inbound.text}
    return "worker_message", {"text": inbound.text, "payload": inbound.payload}


async def add_to_case(turn: Turn, *, to: str | None = None) -> None:
    """Everything the worker sends while a case is open goes on its timeline."""
    case_id = turn.session.case_id
    assert case_id is not None
    kind, data = timeline_entry(turn)
    if to is not None:
        data["to"] = to
    await turn.services.cases.add_event(case_id, kind, data)


async def keep_waiting(turn: Turn) -> None:
    """No case is open: the file or location waits for the next case (with a limit)."""
    services = turn.services
    kind, data = timeline_entry(turn)
    await services.waiting.add(turn.session.sender, kind, data)
    media = turn.inbound.media
    if media is not None and media.kept:
        await services.evidence.keep_for(media.ref, services.waiting.keep_seconds)


def _problem_text(media: MediaRef) -> str:
    if media.problem == TOO_LARGE:
        return _(
            "Your {kind} was too large for me to keep. Please send a smaller one or a "
            "screenshot; our team can see that you sent it."
        ).format(kind=kind_name(media))
    if media.problem == NOT_FETCHED:
        return _(
            "I could not receive your {kind}. Please try sending it again; our team can "
            "see that you sent it."
        ).format(kind=kind_name(media))
    return ""


async def handle(turn: Turn, *, open_case: bool) -> bool:
    """A file or a location, after the caption (if any) was classified. True when the
    caption is to be answered like any text message (the caller routes it)."""
    inbound, classification = turn.inbound, turn.classification
    media = inbound.media
    if media is not None and media.problem:
        turn.say(_problem_text(media))
    if classification is not None and classification.emergency:
        await emergency.start(turn, classification.intent)
        return False
    if open_case:
        return await _on_open_case(turn)
    if inbound.location is not None:
        await ask_danger(turn)
    elif media is not None and media.kind == "audio":
        await listen(turn)
    elif classification is not None:
        if media is not None and media.kept:
            turn.say(_("Thank you, I have kept your {kind} safely.").format(kind=kind_name(media)))
        return True
    else:
        if media is not None and media.kept:
            turn.say(
                _(
                    "Thank you, I have kept your {kind} safely: it will be added to your "
                    "case when one is opened."
                ).format(kind=kind_name(media))
            )
        turn.say(
            _("Tell me in words what is happening, so I can help."),
            [Button(_("Report a problem"), "menu:complaint"), human_button()],
        )
    return False


async def _on_open_case(turn: Turn) -> bool:
    inbound, session = turn.inbound, turn.session
    case_id = session.case_id
    media = inbound.media
    if media is None or media.kept:
        turn.say(_("Thank you, I added it to your case {case}.").format(case=case_id))
    if media is not None and media.kind == "audio" and turn.waiting_case is not None:
        # Nobody has the case yet: make sure a person knows there is something to hear.
        await listen(turn, confirm=False)
    return turn.classification is not None


async def listen(turn: Turn, *, confirm: bool = True) -> None:
    """A voice note nobody here can read: a person is asked to listen to it."""
    escalated = await turn.escalate(
        "listen", "other", "voice_note", Priority.HIGH, summary=turn.inbound.text, marks=(LISTEN,)
    )
    if not confirm:
        return
    turn.say(
        _(
            "Thank you. I cannot listen to voice notes myself, so a person from our team "
            "will listen to it and answer you here (case {case})."
        ).format(case=escalated.case.id)
    )
    turn.say(
        _("If you are in danger right now, tell me in words, or call:")
        + "\n"
        + emergency.numbers_text(turn)
    )


def danger_buttons() -> list[Button]:
    return [Button(_("Yes, I am in danger"), "danger:yes"), Button(_("No"), "danger:no")]


async def ask_danger(turn: Turn) -> None:
    """A location with no words: ask, and if no answer comes, a person sees it anyway."""
    session, services = turn.session, turn.services
    session.flow, session.step = "location", "danger?"
    member = json.dumps({"sender": session.sender, "key": turn.message_key})
    session.data["location_timer"] = member
    due = time.time() + services.settings.location_answer_seconds
    await services.timers.set(LOCATION_TIMER, member, due)
    if turn.inbound.location is not None and not turn.inbound.location.valid:
        turn.say(_("I could not read that location, but I have kept it."))
    turn.say(_("Thank you for your location. Are you in danger now?"), danger_buttons())


async def cancel_timer(turn: Turn) -> None:
    member = turn.session.data.pop("location_timer", None)
    if member:
        await turn.services.timers.cancel(LOCATION_TIMER, str(member))


async def answer_danger(turn: Turn, danger: bool) -> None:
    await cancel_timer(turn)
    turn.session.clear_flow()
    if danger:
        await emergency.start(turn, emergency.UNSPECIFIED)
        return
    turn.say(
        _(
            "Thank you. I have kept your location for now. Tell me in words what is "
            "happening if you need help."
        ),
        [Button(_("Report a problem"), "menu:complaint"), human_button()],
    )


async def location_unanswered(turn: Turn, key: str) -> None:
    """The timer fired: nobody answered "are you in danger?". An operator sees the pin."""
    session = turn.session
    if session.flow == "location":
        session.clear_flow()
    escalated = await turn.escalate(
        "location",
        "other",
        "location_only",
        Priority.NORMAL,
        marks=(LOCATION_ONLY,),
        key=f"location:{key}",
    )
    if escalated.opened:
        turn.say(
            _(
                "I have passed your location to our team (case {case}); a person will "
                "write to you here. If you are in danger, tell me in words."
            ).format(case=escalated.case.id)
        )
