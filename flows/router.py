"""Every flow is registered here, in priority order. No flow imports a channel.

Button payloads go straight to their handler. Free text is classified first; then the
first route whose condition holds handles it. Emergencies and "talk to a person" come
before everything, including a flow waiting for an answer.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.kb import TOPIC_GROUPS, TOPICS
from bot.nlu.taxonomy import UNKNOWN
from bot.store.sessions import BOT
from flows import (
    alerts,
    attachments,
    calculator,
    cases,
    complaint,
    emergency,
    family,
    feedback,
    handoff,
    onboarding,
    privacy,
    rights,
    smalltalk,
    waiting,
)
from flows.base import Turn

Handler = Callable[[Turn], Awaitable[None] | None]
_DELETE_WORDS = re.compile(
    r"\b(?:hapus|delete|erase|remove)\b.{0,20}\b(?:data|akun|account|profil|profile)\b",
    re.IGNORECASE,
)
_CANCEL_WORDS = re.compile(r"^\s*(?:batal|cancel|stop|menu|keluar)\s*[.!]*\s*$", re.IGNORECASE)
# "Stop writing to me", said to an operator: the bot takes it, whoever owns the chat.
_STOP_WORDS = re.compile(
    r"^\s*(?:stop|berhenti|unsubscribe|"
    r"jangan (?:hubungi|chat|kirim pesan)(?: saya| sy| aku)?(?: lagi)?)\s*[.!]*\s*$",
    re.IGNORECASE,
)


def for_the_bot(turn: Turn) -> bool:
    """In a conversation an operator owns, what the bot still answers itself: "delete my
    data" (and its confirmation) and "stop"."""
    payload = turn.inbound.payload or ""
    if payload.partition(":")[0] == "delete":
        return True
    text = turn.inbound.text
    return bool(_DELETE_WORDS.search(text) or _STOP_WORDS.match(text))


@dataclass(frozen=True)
class Route:
    name: str
    when: Callable[[Turn], bool]
    run: Handler


async def _run(handler: Handler, turn: Turn) -> None:
    result = handler(turn)
    if result is not None:
        await result


def _intent(turn: Turn) -> str:
    return turn.classification.intent if turn.classification else UNKNOWN


def _category(turn: Turn) -> str:
    return turn.classification.category if turn.classification else "other"


async def _emergency(turn: Turn) -> None:
    await emergency.start(turn, _intent(turn))


async def _talk_to_a_person(turn: Turn) -> None:
    if turn.session.is_new:
        onboarding.introduce(turn)  # a first contact gets the privacy notice here too
    await handoff.start(turn)


# What a first message may be that asks for nothing yet: the welcome's own next step
# (the country, else the menu) answers it.
_SMALL_TALK = ("greet", "thanks", "goodbye", "affirm", "deny")


async def _first_contact(turn: Turn) -> None:
    """First contact is short (issue 22): one message with the welcome and the privacy
    notice, then what the first message asked for, as it would be answered any other
    time - a question gets its answer, a report starts the intake. Only a greeting (or
    thanks, yes, no) gets the country question, or the menu when the country is known.
    Emergencies never come here: their route is first, and the notice waits until after
    the help (flows/emergency.py)."""
    if _intent(turn) in _SMALL_TALK:
        onboarding.welcome(turn)
        return
    onboarding.introduce(turn)
    turn.first_contact = True
    await _route_text(turn)  # the first-contact route is behind us now


# Answer first, then offer help (issue 22). A message the model reads as a rights
# question or a complaint is one of three things, told apart by its intent and two
# cues in its words - whether it is put as a question, and whom it is about:
#   1. a report: a complaint intent, not put as a question, or naming the act of
#      reporting ("saya mau lapor majikan", "gaji sy blm dibayar 3 bulan", "how do I
#      complain about my agency?"): the complaint intake starts at once;
#   2. a question about a grievance: a complaint intent put as a question ("my employer
#      did not pay me for 2 months, is that legal?", "majikan gak kasih libur, boleh
#      gitu?"), or a rights intent naming the employer or the agency ("boleh gak
#      majikan tahan paspor saya?"): the rights answer, then "Do you want to report
#      this?" ("yes" starts the intake with the worker's words);
#   3. any other rights question ("berapa gaji minimum di hong kong?"): the answer,
#      then "Did this help?".
# Put as a question: a question mark, or the words that open or close a question when
# the mark is left out ("boleh gak", "is it"). A complaint put as a question is answered
# from the best rights topic the model also saw in it (at least RIGHTS_TOPIC_FLOOR); with
# none, it is taken as a report.
_QUESTION = re.compile(
    r"\?|\b(?:apakah|bolehkah|bisakah|(?:boleh|wajar) (?:gak|ga|nggak|tidak)|"
    r"is (?:it|that|this)|are they|can (?:they|he|she|my))\b",
    re.IGNORECASE,
)
_REPORTING = re.compile(
    r"\b(?:report|complain|complaint|lapor|melapor|laporkan|ngadu|mengadu|adukan|"
    r"pengaduan|aduan)\b",
    re.IGNORECASE,
)
RIGHTS_TOPIC_FLOOR = 0.1
# Whom a grievance is against, as the complaint intent it would open.
_COMPLAINT_OF_PARTY = {"employer": "complaint_employer", "agency": "complaint_agency"}


def _topic_asked_about(turn: Turn) -> str | None:
    """The rights topic of a complaint put as a question; None for a report."""
    text = turn.inbound.text
    if not _QUESTION.search(text) or _REPORTING.search(text):
        return None
    ranking = turn.classification.ranking if turn.classification else []
    for intent, score in ranking:
        if score >= RIGHTS_TOPIC_FLOOR and (topic := rights.topic_of(intent)):
            return topic
    return None


async def _rights_or_complaint(turn: Turn) -> None:
    intent, text = _intent(turn), turn.inbound.text
    if intent.startswith("complaint_"):
        topic = _topic_asked_about(turn)
        if topic is None:
            complaint.start(turn, intent, text)
        else:
            await _answer(turn, topic, rights.Report(intent=intent, text=text))
        return
    topic = rights.topic_of(intent)
    if topic is None:
        smalltalk.menu(turn)
        return
    party = complaint.party_of(text)
    grievance = _COMPLAINT_OF_PARTY.get(party or "")
    await _answer(turn, topic, rights.Report(intent=grievance, text=text) if grievance else None)


async def _answer(turn: Turn, topic: str, report: rights.Report | None) -> None:
    """The answer, then its one question. A first contact whose country we do not know
    gets the general answer first, then the question for the country: once it is
    given, the answer for that country follows (``_set_country``)."""
    if not (turn.first_contact and turn.country is None):
        rights.answer(turn, topic, report=report)
        return
    if rights.answer(turn, topic, ask=False):
        onboarding.ask_country(turn)
        turn.session.data["pending"] = {"topic": topic, "report": report}


async def _active_flow(turn: Turn) -> None:
    session = turn.session
    intent = _intent(turn)
    if _CANCEL_WORDS.match(turn.inbound.text):
        smalltalk.menu(turn)
    elif session.flow == "complaint":
        if session.step == "confirm" and intent == "affirm":
            await complaint.confirm(turn)
        elif session.step == "confirm" and intent == "deny":
            complaint.cancel(turn)
        else:
            complaint.on_text(turn)
    elif session.flow == "emergency" and intent in ("affirm", "deny"):
        await emergency.answer_safe(turn, intent == "affirm")
    elif session.flow == "location" and intent in ("affirm", "deny"):
        await attachments.answer_danger(turn, intent == "affirm")
    elif session.flow == "rights" and intent in ("affirm", "deny"):
        if rights.report_offered(turn) is not None:
            _report_answered(turn, intent == "affirm")
        else:
            rights.helped(turn, intent == "affirm")
    elif session.flow == "privacy" and intent == "deny":
        privacy.cancel(turn)
    elif session.flow == "feedback":
        await feedback.comment(turn, turn.inbound.text)
    elif session.flow == "calc":
        await calculator.on_text(turn)
    elif session.flow == family.FLOW:
        if session.step == "confirm" and intent == "affirm":
            await family.confirm(turn)
        elif session.step == "confirm" and intent == "deny":
            family.cancel(turn)
        else:
            family.on_text(turn)
    elif session.flow == "onboarding":
        country = turn.classification.country if turn.classification else None
        asks = intent.startswith(("rights_", "complaint_"))
        if (
            country
            and asks
            and "pending" not in session.data
            and onboarding.set_country(turn, country)
        ):
            # "sy kerja di korsel, upah minimum brp?": the country, and the question too.
            session.clear_flow()
            await _route_text(turn, skip_active=True)
        elif country:
            await _set_country(turn, country)
        else:
            session.clear_flow()
            await _route_text(turn, skip_active=True)
    else:
        session.clear_flow()
        await _route_text(turn, skip_active=True)


def _awaits_text(turn: Turn) -> bool:
    flow = turn.session.flow
    if flow in ("complaint", "onboarding", "feedback", "calc", family.FLOW):
        return True
    return flow in ("emergency", "rights", "privacy", "location") and _intent(turn) in (
        "affirm",
        "deny",
    )


async def _language(turn: Turn) -> None:
    text = turn.inbound.text.lower()
    if re.search(r"\b(?:english|inggris|eng)\b", text):
        onboarding.set_language(turn, "en")
    elif re.search(r"\b(?:indonesia|indo)\b", text):
        onboarding.set_language(turn, "id")
    else:
        onboarding.ask_language(turn)


async def _uncertain(turn: Turn) -> None:
    ranking = turn.classification.ranking if turn.classification else []
    topics = [t for i, _ in ranking if (t := rights.topic_of(i))]
    if topics:
        rights.suggest(turn, topics)
    else:
        smalltalk.out_of_scope(turn)


def _is(intent: str) -> Callable[[Turn], bool]:
    return lambda turn: _intent(turn) == intent


TEXT_ROUTES: tuple[Route, ...] = (
    Route("emergency", lambda t: bool(t.classification and t.classification.emergency), _emergency),
    Route("talk to a person", _is("request_human"), _talk_to_a_person),
    Route(
        "delete my data", lambda t: bool(_DELETE_WORDS.search(t.inbound.text)), privacy.ask_delete
    ),
    Route(
        "stop (to an operator)",
        lambda t: t.session.owner != BOT and bool(_STOP_WORDS.match(t.inbound.text)),
        handoff.stop,
    ),
    Route(
        "stop alerts",
        lambda t: bool(t.session.alerts) and bool(_STOP_WORDS.match(t.inbound.text)),
        alerts.stop,
    ),
    Route("first contact", lambda t: t.session.is_new, _first_contact),
    Route("flow waiting for an answer", _awaits_text, _active_flow),
    Route("language", _is("choose_language"), _language),
    Route("case status", _is("check_case"), cases.show),
    # Waiting for a person: told so now and then, never the menu.
    Route("waiting for a person", lambda t: t.waiting_case is not None, waiting.still_in_queue),
    Route("nlu unavailable", lambda t: _intent(t) == UNKNOWN, smalltalk.nlu_down),
    Route("unsure", lambda t: bool(t.classification and t.classification.uncertain), _uncertain),
    Route(
        "rights question or complaint",
        lambda t: _category(t) in ("rights_question", "complaint"),
        _rights_or_complaint,
    ),
    Route("greeting", _is("greet"), smalltalk.greet),
    Route("thanks", _is("thanks"), smalltalk.thanks),
    Route("goodbye", _is("goodbye"), smalltalk.goodbye),
    Route("anything else", lambda t: True, smalltalk.out_of_scope),
)


async def _route_text(turn: Turn, *, skip_active: bool = False) -> None:
    for route in TEXT_ROUTES:
        if skip_active and route.name == "flow waiting for an answer":
            continue
        if route.when(turn):
            await _run(route.run, turn)
            return


async def handle_text(turn: Turn) -> None:
    await _route_text(turn)


async def _set_country(turn: Turn, country: str) -> None:
    pending = turn.session.data.get("pending")
    if not onboarding.set_country(turn, country):
        smalltalk.unknown_button(turn)
        return
    turn.session.data.pop("pending", None)
    if pending and "topic" not in pending:
        # Kept by a version before issue 22: the first message, not yet answered.
        if (topic := rights.topic_of(pending["intent"])) is not None:
            rights.answer(turn, topic)
        else:
            complaint.start(turn, pending["intent"], pending["text"])
    elif pending and turn.session.country is None:
        # "Another country": the general answer given before stands.
        rights.follow_up(turn, pending["topic"], pending.get("report"))
    elif pending:
        rights.answer(turn, pending["topic"], report=pending.get("report"))
    elif turn.session.flow == "emergency":
        await emergency.country_given(turn)
    elif turn.session.flow == "complaint":
        complaint.ask_next(turn)
    elif turn.session.flow == "calc":
        await calculator.ask_next(turn)
    elif turn.session.flow is None:
        smalltalk.menu(turn)


def _report_answered(turn: Turn, yes: bool) -> None:
    """The answer to "Do you want to report this?": yes starts the intake with the
    worker's own words; no ends it there."""
    offered = rights.report_offered(turn)
    if not yes:
        smalltalk.menu(turn)
    elif offered is None:
        complaint.start(turn, None)
    else:
        complaint.start(turn, offered["intent"], offered["text"])


async def handle_payload(turn: Turn, payload: str) -> None:
    """A pressed button. An unknown or stale payload gets the menu, never an error."""
    head, _, rest = payload.partition(":")
    action, _, value = rest.partition(":")
    session = turn.session
    if head == "start" and not rest:
        # A channel's own "start" (Telegram's /start): a welcome first time, else the menu.
        if session.is_new:
            onboarding.welcome(turn)
        else:
            smalltalk.menu(turn)
    elif head == "lang" and rest in ("id", "en"):
        onboarding.set_language(turn, rest)
    elif head == "country" and rest:
        await _set_country(turn, rest)
    elif head == "settings" and rest == "language":
        onboarding.ask_language(turn)
    elif head == "settings" and rest == "country":
        onboarding.ask_country(turn)
    elif head == "menu" and rest == "rights":
        rights.choose_topic(turn)
    elif head == "menu" and rest == "complaint":
        complaint.start(turn, None)
    elif head == "menu" and not rest:
        smalltalk.menu(turn)
    elif head == "topics" and rest in TOPIC_GROUPS:
        rights.choose_in_group(turn, rest)
    elif head == "topic" and rest in TOPICS:
        rights.answer(turn, rest)
    elif head == "more" and action in TOPICS and value.isdigit():
        rights.more(turn, action, int(value))
    elif head == "source" and rest in TOPICS:
        rights.full_source(turn, rest)
    elif head == "helped" and rest in ("yes", "no"):
        rights.helped(turn, rest == "yes")
    elif head == "report" and rest in ("yes", "no"):
        _report_answered(turn, rest == "yes")
    elif head == "human" and not rest:
        await handoff.start(turn)
    elif head == "safe" and rest in ("yes", "no"):
        await emergency.answer_safe(turn, rest == "yes")
    elif head == "danger" and rest in ("yes", "no"):
        await attachments.answer_danger(turn, rest == "yes")
    elif head == "alerts" and not rest:
        alerts.offer(turn)
    elif head == "alerts" and rest == "on":
        await alerts.subscribe(turn)
    elif head == "alerts" and rest == "off":
        await alerts.stop(turn)
    elif head == "calc":
        await calculator.on_button(turn, rest)
    elif head == "family":
        await family.on_button(turn, rest)
    elif head == "cases" and not rest:
        await cases.show(turn)
    elif head == "privacy" and not rest:
        privacy.show(turn)
    elif head == "rate" and rest == "skip":
        feedback.skip(turn)
    elif head == "rate" and action and value:
        await feedback.rate(turn, action, value)
    elif head == "delete" and not rest:
        privacy.ask_delete(turn)
    elif head == "delete" and rest == "confirm" and session.flow == "privacy":
        await privacy.delete(turn)
    elif head == "delete" and rest == "cancel":
        privacy.cancel(turn)
    elif head == "complaint" and session.flow == "complaint":
        if action == "confirm":
            await complaint.confirm(turn)
        elif action == "cancel":
            complaint.cancel(turn)
        else:
            complaint.on_button(turn, action, value or None)
    else:
        smalltalk.unknown_button(turn)
