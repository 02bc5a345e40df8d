"""A family member at home reports a worker they cannot reach ("Report someone missing").

Offered after the answer for families (kb/topics/families.yml), which lists what to collect
and whom to tell; this flow collects it with the family member, one question at a time,
and opens a case with it for our team, who take it to the embassy and KP2MI. It asks
whether the worker said anything that sounds like danger: if so the case is an emergency
on the operators' queue at once, as any emergency is. The worker's details go only on the
case's sealed timeline; the queue and the operators' group see a summary without them.
"""

from __future__ import annotations

from bot.i18n import N_, _
from bot.kb import is_number
from bot.messages import Button
from bot.store.cases import Priority
from flows.base import Turn
from flows.complaint import SINCE
from flows.onboarding import COUNTRY_NAMES, country_buttons, country_name
from flows.waiting import wait_notice

FLOW = "family"
INTENT = "family_report"  # the case's intent: a report by a family member, not a worker
EVENT = "family_report"  # the timeline entry holding what the family told us
DANGER = {
    "yes": N_("Yes"),
    "no": N_("No"),
    "unsure": N_("I am not sure"),
}
# What the report asks, in order; the case is opened once it has them all.
ANSWERS = ("who", "country", "where", "last", "danger")
MAX_CHARS = 500  # one answer; longer is cut (the transcript keeps all of it)
# For the queue and the operators' group: never the worker's name.
SUMMARY = "A family member cannot reach a worker ({country}); last contact: {last}"


def cancel_button() -> Button:
    return Button(_("Cancel"), "family:cancel")


def start(turn: Turn) -> None:
    turn.session.clear_flow()
    turn.session.flow = FLOW
    turn.say(
        _(
            "I will ask you a few questions, then open a case for our team. They can ask "
            "the Indonesian embassy to look for your family member. What you tell us stays "
            'on the case, seen only by our team. Write "cancel" to stop.'
        )
    )
    ask_next(turn)


def ask_next(turn: Turn) -> None:
    """The next question the report lacks; the summary to confirm once it has them all."""
    data, session = turn.session.data, turn.session
    if "who" not in data:
        session.step = "who"
        turn.say(
            _(
                "What is their full name, as in the passport? Add the passport number and "
                "date of birth if you have them."
            ),
            [cancel_button()],
        )
    elif "country" not in data:
        session.step = "country"
        turn.say(
            _("Which country do they work in?"),
            country_buttons(FLOW, other=N_("Other or not sure")),
        )
    elif "where" not in data:
        session.step = "where"
        turn.say(
            _(
                "Where and for whom do they work? The city, the employer's name or phone, "
                'the agency (PT) that sent them: anything you know. Or write "don\'t know".'
            ),
            [cancel_button()],
        )
    elif "last" not in data:
        session.step = "last"
        turn.say(
            _("When did you last hear from them? You can also write it."),
            [Button(_(label), f"family:last:{key}") for key, label in SINCE.items()],
        )
    elif "danger" not in data:
        session.step = "danger"
        turn.say(
            _(
                "Did they say anything that worries you: that they are hurt, locked in, "
                "not given food, or that they asked for help?"
            ),
            [Button(_(label), f"family:danger:{key}") for key, label in DANGER.items()],
        )
    else:
        session.step = "confirm"
        turn.say(
            _("Here is your report:")
            + "\n"
            + summary_text(data)
            + "\n"
            + _("Shall I open a case?"),
            [Button(_("Yes, open a case"), "family:confirm"), cancel_button()],
        )


def summary_text(data: dict[str, str]) -> str:
    country, last, danger = data["country"], data["last"], DANGER[data["danger"]]
    return _(
        "Name: {who}\nCountry: {country}\nWhere and for whom: {where}\n"
        "Last heard from: {last}\nWorrying signs: {danger}"
    ).format(
        who=data["who"],
        country=country_name(country) if country in COUNTRY_NAMES else _("not known"),
        where=data["where"],
        last=_(SINCE[last]) if last in SINCE else last,
        danger=_(danger),
    )


def on_text(turn: Turn) -> None:
    """Free text while the report waits for an answer."""
    data, step = turn.session.data, turn.session.step
    text = turn.inbound.text.strip()[:MAX_CHARS]
    country = turn.classification.country if turn.classification else None
    if step in ("who", "where", "last") and text:
        data[step] = text
    elif step == "country" and country in COUNTRY_NAMES:
        data["country"] = country
    elif step == "country":
        turn.say(_("Please choose the country with the buttons."))
    elif step == "danger":
        intent = turn.classification.intent if turn.classification else None
        if intent in ("affirm", "deny"):
            data["danger"] = "yes" if intent == "affirm" else "no"
        else:
            turn.say(_("Please answer with the buttons."))
    elif step == "confirm":
        turn.say(_("Please use the buttons: open the case, or cancel."))
    ask_next(turn)


async def on_button(turn: Turn, rest: str) -> None:
    action, _sep, value = rest.partition(":")
    data = turn.session.data
    if action == "start":
        start(turn)
        return
    if turn.session.flow != FLOW and action == "cancel":
        # The cancel button of a report already finished or cancelled: nothing to undo.
        turn.say(_("Cancelled. Nothing was saved as a case."), [Button(_("Menu"), "menu")])
        return
    if turn.session.flow != FLOW:
        # Another button of a report that was finished or cancelled: start again.
        start(turn)
        return
    if action == "cancel":
        cancel(turn)
        return
    if action == "confirm":
        await confirm(turn)
        return
    if action == "country" and (value in COUNTRY_NAMES or value == "other"):
        data["country"] = value
    elif action == "last" and value in SINCE:
        data["last"] = value
    elif action == "danger" and value in DANGER:
        data["danger"] = value
    ask_next(turn)


async def confirm(turn: Turn) -> None:
    session, data = turn.session, dict(turn.session.data)
    if not set(ANSWERS) <= set(data):
        ask_next(turn)
        return
    country = data["country"] if data["country"] in COUNTRY_NAMES else None
    last = SINCE[data["last"]] if data["last"] in SINCE else data["last"]
    summary = SUMMARY.format(country=country or "country not known", last=last)
    # Worrying signs: an emergency, in front of a person at once.
    urgent = data["danger"] == "yes"
    # A retry of this confirmation (after a crash) finds this case again (its key).
    escalated = await turn.escalate(
        "emergency" if urgent else "human",
        "emergency" if urgent else "other",
        INTENT,
        Priority.CRITICAL if urgent else Priority.HIGH,
        summary=summary,
        details={"reported_by": "family", "danger": data["danger"]},
        new_case=True,
        country=country,
    )
    case = escalated.case
    report = {k: data[k] for k in ANSWERS}
    await turn.services.cases.add_event_once(case.id, EVENT, report, turn.message_key)
    session.clear_flow()
    turn.say(
        _(
            "Your report is open as case {case}: please keep the number. A person from our "
            "team will contact you here and can ask the embassy to look for them."
        ).format(case=case.id)
    )
    turn.say(embassy_text(turn, country, urgent))
    turn.say(await wait_notice(turn, case))


def embassy_text(turn: Turn, country: str | None, urgent: bool) -> str:
    """Whom the family can also call: the embassy there and KP2MI, and the police there
    when they fear for the worker - each only when the directory holds a number one can
    dial (as the emergency lines, flows/emergency.py)."""
    referral = turn.services.kb.referral(country) if country else None
    lines = []
    if referral is not None and is_number(referral.embassy_hotline):
        lines.append(
            _("You can also call {embassy}: {number}.").format(
                embassy=referral.embassy_name, number=referral.embassy_hotline
            )
        )
    kp2mi = turn.services.kb.figures.get("kp2mi_call_center_toll_free")
    if kp2mi is not None:
        lines.append(
            _("KP2MI call center (free from Indonesia): {number}.").format(number=kp2mi.value)
        )
    if urgent and referral is not None and is_number(referral.emergency_number):
        lines.append(
            _("If they are in danger now, the police in {country}: {number}.").format(
                country=country_name(referral.country), number=referral.emergency_number
            )
        )
    return "\n".join(lines)


def cancel(turn: Turn) -> None:
    turn.session.clear_flow()
    turn.say(_("Cancelled. Nothing was saved as a case."), [Button(_("Menu"), "menu")])
