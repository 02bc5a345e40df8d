"""Complaint intake: asks only for what is missing, confirms, opens a case."""

from __future__ import annotations

import re

from bot.i18n import N_, _
from bot.messages import Button
from bot.store.cases import Priority
from flows.base import Turn
from flows.onboarding import country_buttons, set_country
from flows.waiting import wait_notice

AGAINST = {
    "employer": N_("My employer"),
    "agency": N_("My agency / PT / sponsor"),
    "other": N_("Someone else (an office, the embassy, insurance...)"),
}
# Who the complaint is against, read from the worker's own words: the intent alone
# ("I want to report a problem" is a complaint_employer to the model) is not enough.
_PARTIES = (
    (
        "agency",
        re.compile(r"\b(?:agen|agensi|agency|agent|pt|sponsor|calo|pl|p3mi|broker)\b", re.I),
    ),
    (
        "employer",
        re.compile(
            r"\b(?:majikan|bos|boss|nyonya|tuan|madam|maam|mam|sir|employer|juragan|ama|popo)\b",
            re.I,
        ),
    ),
    (
        "other",
        re.compile(
            r"\b(?:kbri|kjri|kdei|embassy|consulate|konsulat|bp2mi|bp3mi|kp2mi|bpjs|insurance|"
            r"asuransi|polisi|police|labour department|disnaker|helpline|bot)\b",
            re.I,
        ),
    ),
)
SINCE = {
    "week": N_("This week"),
    "month": N_("This month"),
    "months": N_("Several months"),
    "year": N_("More than a year"),
}
_SINCE_IN_TEXT = re.compile(
    r"\b(?:sejak|dari|udah|udh|sudah|sdh|selama|since|for|already)\b[^.?!]{0,30}?"
    r"\b\d*\s*(?:hari|minggu|bulan|bln|tahun|thn|day|days|week|weeks|month|months|year|years)\b",
    re.IGNORECASE,
)
MIN_WORDS_FOR_DESCRIPTION = 4
# "I want to report a problem" opens the intake; it does not describe anything yet.
_JUST_ASKING = re.compile(
    r"^\W*(?:i|sy|saya|aku|aq)?\s*(?:want|wanna|would like|need|mau|ingin|pengen|pgn|mo)\s+"
    r"(?:to\s+)?(?:report|complain|make|file|lapor|ngadu|mengadu|bikin|buat)\b",
    re.IGNORECASE,
)


def party_of(text: str) -> str | None:
    """Whom the worker's words are about: "employer", "agency", "other" or None."""
    return next((name for name, words in _PARTIES if words.search(text)), None)


def ask_next(turn: Turn) -> None:
    """Asks for what the report still lacks; the summary to confirm once it has it all."""
    data = turn.session.data
    if "against" not in data:
        turn.session.step = "against"
        turn.say(
            _("Who is the complaint against?"),
            [Button(_(label), f"complaint:against:{key}") for key, label in AGAINST.items()],
        )
    elif "what" not in data:
        turn.session.step = "what"
        turn.say(_("Please tell me what happened, in your own words."))
    elif "since" not in data:
        turn.session.step = "since"
        turn.say(
            _("Since when has this been going on? You can also write it."),
            [Button(_(label), f"complaint:since:{key}") for key, label in SINCE.items()],
        )
    elif turn.session.country is None and not data.get("country_asked"):
        # A report that started the conversation: the case needs the country. Asked
        # once; "Another country" (or no answer) goes on without it.
        turn.session.step = "country"
        data["country_asked"] = True
        turn.say(_("Which country are you working in?"), country_buttons())
    else:
        turn.session.step = "confirm"
        # The label is looked up first: a literal inside _() would be extracted as a message.
        against = AGAINST[data["against"]]
        summary = _("Against: {against}\nWhat happened: {what}\nSince: {since}").format(
            against=_(against), what=data["what"], since=data["since"]
        )
        turn.say(
            _("Here is your report:") + "\n" + summary + "\n" + _("Shall I open a case?"),
            [
                Button(_("Yes, open a case"), "complaint:confirm"),
                Button(_("Cancel"), "complaint:cancel"),
            ],
        )


def start(turn: Turn, intent: str | None, text: str = "") -> None:
    turn.session.clear_flow()
    turn.session.flow = "complaint"
    data = turn.session.data
    data["intent"] = intent or "complaint_employer"
    text = text.strip()
    party = party_of(text)
    if party:
        data["against"] = party
    words = len(text.split())
    if words >= MIN_WORDS_FOR_DESCRIPTION and not (_JUST_ASKING.search(text) and words <= 8):
        data["what"] = text
        match = _SINCE_IN_TEXT.search(text)
        if match:
            data["since"] = match.group(0)
    ask_next(turn)


def on_text(turn: Turn) -> None:
    """Free text while the intake waits for an answer."""
    data, text = turn.session.data, turn.inbound.text.strip()
    step = turn.session.step
    if step == "what" and text:
        data["what"] = text
    elif step == "since" and text:
        data["since"] = text
    elif step == "against" and text:
        data["against"] = "other"
        data.setdefault("against_text", text)
    elif step == "country" and turn.classification and turn.classification.country:
        set_country(turn, turn.classification.country)
    elif step == "confirm":
        turn.say(_("Please use the buttons: open the case, or cancel."))
    ask_next(turn)


def on_button(turn: Turn, action: str, value: str | None) -> None:
    data = turn.session.data
    if action == "against" and value in AGAINST:
        data["against"] = value
    elif action == "since" and value in SINCE:
        data["since"] = _(SINCE[value])
    ask_next(turn)


async def confirm(turn: Turn) -> None:
    data, session = turn.session.data, turn.session
    if not {"against", "what", "since"} <= set(data):
        ask_next(turn)
        return
    # A retry of this confirmation (after a crash) finds this case again (its key).
    escalated = await turn.escalate(
        "complaint",
        "complaint",
        data.get("intent", "complaint_employer"),
        Priority.NORMAL,
        summary=data["what"],
        details={"against": data["against"], "since": data["since"]},
        new_case=True,
    )
    case = escalated.case
    session.clear_flow()
    turn.say(
        _(
            "Your case is open. Your case number is {case}: please keep it. A person from "
            "our team will contact you here."
        ).format(case=case.id)
    )
    turn.say(await wait_notice(turn, case))


def cancel(turn: Turn) -> None:
    turn.session.clear_flow()
    turn.say(_("Cancelled. Nothing was saved as a case."))
