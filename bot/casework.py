"""What operators do with cases: claim, reply, note, refer, transfer, release and close.

Every change that touches the worker's conversation (who owns it) is made under that
conversation's lock, the same one dispatch takes, so an operator's claim and a worker's
message never half-overwrite each other. The case timeline is written before anything
is sent, so what was said is on record even if the sending fails.
Used by the console and by the operators' Telegram group; channel-neutral.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.case_facts import OUTCOMES, PACKET_PARTS, Facts, FactsError, describe_facts, parse_facts
from bot.channels.base import SendFailed
from bot.delivery import Delivery
from bot.i18n import N_, _, format_datetime, use_locale
from bot.kb import fill, fill_figures, fill_money
from bot.messages import Button, Outbound
from bot.nlu.countries import COUNTRIES
from bot.nlu.taxonomy import CATEGORY_OF_INTENT
from bot.services import Services
from bot.store.canned import CannedReplies
from bot.store.cases import (
    DETECTED_LATE,
    LISTEN,
    LOCATION_ONLY,
    NOT_SAFE,
    SELF_HARM,
    TRANSITIONS,
    WATCHED,
    Case,
    CaseError,
    CaseFilter,
    Priority,
    Status,
    visible,
)
from bot.store.escalations import (
    SUMMARY_CHARS,
    AlreadyClaimed,
    Escalation,
    NotQueued,
    QueueEntry,
    RedisEscalationQueue,
)
from bot.store.evidence import Evidence
from bot.store.sessions import BOT, Session, SessionStore, operator_owner
from bot.store.users import CASE_ROLES, SUPERVISING, User, UserStore
from flows.feedback import survey_buttons, survey_question
from flows.onboarding import privacy_notice

log = logging.getLogger(__name__)

MAX_REPLY = 4000
# The bot's answers to the message that opened a case come just before it is stored.
BOT_LOOKBACK_MS = 60_000

# How the console names each status.
STATUS_LABELS = {
    Status.NEW.value: N_("new"),
    Status.CLAIMED.value: N_("claimed"),
    Status.WAITING.value: N_("waiting for worker"),
    Status.REFERRED.value: N_("referred"),
    Status.RESOLVED.value: N_("resolved"),
    Status.CLOSED.value: N_("closed"),
}


# What each mark tells the operator: on the case page, in the queue and in the group.
MARK_LABELS = {
    NOT_SAFE: N_("worker says NOT SAFE"),
    SELF_HARM: N_("self-harm"),
    WATCHED: N_("worker may be watched - write neutrally"),
    LOCATION_ONLY: N_("location without words"),
    LISTEN: N_("voice note to listen to"),
    DETECTED_LATE: N_("detected late (the NLU was down)"),
}


class CaseworkError(Exception):
    """An action that cannot be done; ``status`` is the HTTP status that fits."""

    status = 409


class CaseNotFound(CaseworkError):
    status = 404


class NotAllowed(CaseworkError):
    status = 403


class Conflict(CaseworkError):
    status = 409


class PendingReferral(Conflict):
    """Closing a case whose referral still waits for the partner: asked to confirm."""


class WindowClosed(Conflict):
    """WhatsApp's 24-hour window is closed: only the approved template can go out."""


@dataclass
class Casework:
    services: Services
    queue: RedisEscalationQueue
    delivery: Delivery
    users: UserStore
    canned: CannedReplies
    # The helpline's time zone (HELPLINE_TIMEZONE): follow-up dates are days there.
    timezone: str = "UTC"

    @property
    def _sessions(self) -> SessionStore:
        return self.services.sessions

    async def case(self, case_id: str) -> Case:
        case = await self.services.cases.get(case_id)
        if case is None:
            raise CaseNotFound(_("There is no case {case}.").format(case=case_id))
        return case

    # -- what the console reads (views call these, not the stores) ----------------------

    async def queue_entries(self) -> list[QueueEntry]:
        return await self.queue.entries()

    async def queued(self, case_id: str) -> QueueEntry | None:
        return await self.queue.find(case_id)

    async def cases(self, case_ids: list[str]) -> dict[str, Case]:
        return await self.services.cases.get_many(case_ids)

    async def search(
        self, filters: CaseFilter, limit: int = 50, offset: int = 0
    ) -> tuple[list[Case], int]:
        return await self.services.cases.search(filters, limit=limit, offset=offset)

    async def timeline(self, case_id: str) -> list[dict[str, Any]]:
        return await self.services.cases.timeline(case_id)

    async def story(self, case: Case) -> list[dict[str, Any]]:
        """The case's timeline with what the bot said to the worker meanwhile (from the
        conversation's transcript, while the case was open), in order; each run of the
        bot's messages is one entry {"kind": "bot", "messages": [...]} (the console shows
        it folded)."""
        timeline = await self.services.cases.timeline(case.id)
        if case.sender is None:
            return timeline
        start = f"{max(0, int(case.created_at * 1000) - BOT_LOOKBACK_MS)}-0"
        until = case.closed_at or float("inf")
        said = [
            {"kind": "bot_message", "at": float(m.get("ts") or 0), "text": m.get("text", "")}
            for _id, m in await self.services.outbox.read(case.sender, after=start, count=500)
            if m.get("from") == "bot" and float(m.get("ts") or 0) <= until
        ]
        merged = sorted(timeline + said, key=lambda e: float(e.get("at") or 0))
        story: list[dict[str, Any]] = []
        for entry in merged:
            if entry["kind"] != "bot_message":
                story.append(entry)
            elif story and story[-1]["kind"] == "bot":
                story[-1]["messages"].append(entry)
            else:
                story.append({"kind": "bot", "at": entry["at"], "messages": [entry]})
        return story

    async def inserts(self, case: Case) -> dict[str, list[dict[str, str]]]:
        """What an operator can insert into a reply on this case, in the worker's
        language and filled in for the case's country: {"canned": [{name, title,
        text}], "kb": [{title, text}]}."""
        lang = await self._worker_locale(case)
        kb = self.services.kb
        values = self._values(case.country)
        canned = [
            {"name": c.name, "title": c.title, "text": self._filled(c.text(lang), values, lang)}
            for c in await self.canned.all()
            if c.fits(case.country)
        ]
        answers = []
        for topic in sorted(kb.titles):
            answer = kb.answer(topic, case.country, lang)
            if answer is not None:
                answers.append({"title": kb.title(topic, lang), "text": answer.text})
        return {"canned": canned, "kb": answers}

    async def canned_text(self, case: Case, name: str) -> str:
        """A canned reply by its name, filled in for this case (the operators' group)."""
        found = await self.canned.get(name.strip().lower())
        if found is None or not found.fits(case.country):
            missing = _("There is no canned reply {name} for this case.")
            raise CaseworkError(missing.format(name=name))
        lang = await self._worker_locale(case)
        return self._filled(found.text(lang), self._values(case.country), lang)

    async def _worker_locale(self, case: Case) -> str:
        """The language the worker speaks to us in (their session's, else the case's)."""
        if case.sender is None:
            return case.locale or "id"
        return _locale_of(await self._sessions.load(case.sender), case)

    def _filled(self, text: str, values: dict[str, str], lang: str) -> str:
        """A canned reply with the knowledge base's placeholders, figures and money
        filled in for the worker's country and language."""
        figures = self.services.kb.figures
        return fill_money(fill(fill_figures(text, figures, lang), values), lang)

    def _values(self, country: str | None) -> dict[str, str]:
        kb = self.services.kb
        referral = kb.referral(country) or kb.referral("indonesia")
        return referral.values() if referral else {}

    async def agencies(self) -> list[dict[str, Any]]:
        """The recruitment agencies named on cases so far, most named first."""
        return await self.services.cases.agencies.all()

    async def evidence(self, evidence_id: str) -> Evidence | None:
        return await self.services.evidence.get(evidence_id)

    def next_statuses(self, case: Case) -> list[Status]:
        """The statuses ``set_status`` can give the case: those TRANSITIONS allows from
        its status, while it is open (a closed or resolved one comes back by reopen)."""
        if not case.is_open:
            return []
        allowed = TRANSITIONS[Status(case.status)]
        return [status for status in Status if status in allowed]

    async def claim(self, case_id: str, user: User) -> Case:
        case = await self._open_case(case_id)
        sender = case.sender
        if sender is None:
            return await self._assign(case, user)
        async with self._sessions.lock(sender):
            case = await self._open_case(case_id)
            if case.assignee not in (None, user.username):
                raise Conflict(
                    _("{name} has claimed this case already.").format(name=case.assignee)
                )
            try:
                await self.queue.claim(case_id, user.username)
            except AlreadyClaimed as exc:
                if exc.holder != user.username:
                    raise Conflict(
                        _("{name} has claimed this case already.").format(name=exc.holder)
                    ) from None
            except NotQueued:
                pass
            case = await self._assign(case, user)
            session = await self._sessions.load(sender)
            session.owner, session.case_id = operator_owner(user.username), case.id
            session.clear_flow()
            # A first contact that was a crisis still owes the privacy notice: it comes
            # with the first person, after the help.
            owed, session.privacy_pending = session.privacy_pending, False
            await self._sessions.save(session)
        await self._tell_worker(
            case,
            lambda: (
                _(
                    "{name} from our team has joined this chat and will help you with case "
                    "{case}. You can write freely: only our team reads this."
                ).format(name=user.display_name, case=case.id)
                + ("\n\n" + privacy_notice() if owed else "")
            ),
        )
        return case

    async def claim_next(self, user: User) -> Case | None:
        """The oldest waiting escalation of the highest priority, claimed for ``user``."""
        while (case_id := await self.queue.claim_next(user.username)) is not None:
            case = await self.services.cases.get(case_id)
            if case is None or not case.is_open:
                await self.queue.done(case_id)
                continue
            try:
                return await self.claim(case_id, user)
            except Conflict:
                await self.queue.done(case_id)
        return None

    async def reply(self, case_id: str, user: User, text: str) -> Case:
        text = text.strip()
        if not text:
            raise CaseworkError(_("Write a reply first."))
        if len(text) > MAX_REPLY:
            raise CaseworkError(_("A reply can have at most {n} characters.").format(n=MAX_REPLY))
        case = await self._open_case(case_id)
        self._may_work_on(case, user)
        sender = case.sender
        if sender is None:
            raise Conflict(_("The worker erased their data: there is nobody to write to."))
        if await self.delivery.window_closed(sender):
            raise WindowClosed(
                _(
                    "The worker last wrote more than 24 hours ago: WhatsApp only lets us "
                    "send the approved template message now. Send it, and reply when they "
                    "answer."
                )
            )
        async with self._sessions.lock(sender):
            case = await self._open_case(case_id)
            session = await self._sessions.load(sender)
            if session.stopped_at is not None:
                raise Conflict(
                    _(
                        "The worker asked us to stop writing to them. Wait until they write "
                        "again; your text was not sent."
                    )
                )
            if case.assignee is None:
                await self.services.cases.assign(case, user.username, by=user.username)
            session.owner = operator_owner(case.assignee or user.username)
            session.case_id = case.id
            await self._sessions.save(session)
            await self.services.cases.add_event(
                case.id, "operator_message", {"by": user.username, "text": text}
            )
            await self.services.cases.mark_answered(case)
        locale = _locale_of(session, case)
        await self.delivery.deliver(
            sender,
            [Outbound(text=text, author="operator", author_name=user.display_name, locale=locale)],
        )
        # An operator answered: the escalation has done its job.
        await self.queue.done(case.id)
        return case

    async def send_template(self, case_id: str, user: User) -> Case:
        """The approved template that opens the conversation again (WhatsApp)."""
        case = await self._open_case(case_id)
        self._may_work_on(case, user)
        if case.sender is None:
            raise CaseworkError(_("This worker's channel has no template message."))
        session = await self._sessions.load(case.sender)
        try:
            sent = await self.delivery.template(case.sender, _locale_of(session, case))
        except SendFailed as exc:
            log.warning("the template message was not sent: %s", exc)
            raise CaseworkError(
                _("WhatsApp did not take the template message. Try again in a moment.")
            ) from exc
        if not sent:
            raise CaseworkError(_("This worker's channel has no template message."))
        await self.services.cases.add_event(case.id, "template_sent", {"by": user.username})
        return case

    async def note(self, case_id: str, user: User, text: str) -> None:
        text = text.strip()
        if not text:
            raise CaseworkError(_("Write a note first."))
        await self.case(case_id)
        await self.services.cases.add_note(case_id, user.username, text[:MAX_REPLY])

    async def set_status(
        self,
        case_id: str,
        user: User,
        status: Status,
        *,
        outcome: str = "",
        close_anyway: bool = False,
    ) -> Case:
        """Moves the case on. Closing or resolving asks how it ended (``outcome``, one of
        OUTCOMES) and, while a referral still waits for the partner, for ``close_anyway``."""
        case = await self._open_case(case_id)
        self._may_work_on(case, user)
        if status in (Status.RESOLVED, Status.CLOSED):
            if outcome not in OUTCOMES:
                raise CaseworkError(_("Choose how the case ended before closing it."))
            pending = [r["partner"] for r in case.referrals if r.get("outcome") == "pending"]
            if pending and not close_anyway:
                raise PendingReferral(
                    _(
                        "A referral to {partner} still waits for an answer. Close the case anyway?"
                    ).format(partner=", ".join(pending))
                )
            return await self._close(case, user, status, outcome)
        if status == Status.NEW:
            return await self.release(case_id, user)
        try:
            await self.services.cases.set_status(case, status, by=user.username)
        except CaseError as exc:
            raise Conflict(str(exc)) from None
        return case

    async def reopen(self, case_id: str, user: User) -> Case:
        case = await self.case(case_id)
        try:
            await self.services.cases.reopen(case, by=user.username)
        except CaseError as exc:
            raise Conflict(str(exc)) from None
        return case

    async def refer(self, case_id: str, user: User, partner: str, note: str) -> Case:
        case = await self._open_case(case_id)
        self._may_work_on(case, user)
        if not partner.strip():
            raise CaseworkError(_("Choose a partner to refer the case to."))
        await self.services.cases.refer(
            case, partner.strip()[:200], note.strip()[:1000], user.username
        )
        return case

    async def referral_outcome(self, case_id: str, user: User, index: int, outcome: str) -> Case:
        case = await self.case(case_id)
        self._may_work_on(case, user)
        try:
            await self.services.cases.referral_outcome(case, index, outcome, user.username)
        except CaseError as exc:
            raise CaseworkError(str(exc)) from None
        return case

    async def set_facts(
        self, case_id: str, user: User, form: dict[str, str], violations: list[str]
    ) -> dict[str, Any]:
        """What the operator set and corrected on the case page; returns what changed."""
        case = await self.case(case_id)
        self._may_work_on(case, user)
        try:
            facts = parse_facts(form, violations)
        except FactsError as exc:
            raise CaseworkError(_("Not saved: {problem}.").format(problem=exc)) from None
        kept = Facts.of(case.facts)
        facts.consent = kept.consent
        corrections: dict[str, str] = {}
        intent = form.get("intent", "").strip()
        if intent and intent != case.intent:
            if intent not in CATEGORY_OF_INTENT:
                raise CaseworkError(_("Not saved: choose an intent from the list."))
            corrections["intent"] = intent
            corrections["category"] = CATEGORY_OF_INTENT[intent].value
        country = form.get("country", "").strip()
        if country and country != (case.country or ""):
            if country not in COUNTRIES:
                raise CaseworkError(_("Not saved: choose a country from the list."))
            corrections["country"] = country
        changed = await self.services.cases.set_facts(
            case, facts.as_dict(), corrections, by=user.username
        )
        if facts.agency:
            await self.services.cases.agencies.seen(facts.agency, facts.agency_licence)
        return changed

    async def record_consent(self, case_id: str, user: User, partner: str) -> Case:
        """The worker agreed that what the operator chooses may be shared with
        ``partner`` (asked and answered in the conversation; the operator records it)."""
        case = await self.case(case_id)
        self._may_work_on(case, user)
        partner = partner.strip()[:200]
        if not partner:
            raise CaseworkError(_("Choose the partner the worker agreed to share with."))
        facts = Facts.of(case.facts)
        if partner not in facts.consent:
            facts.consent = [*facts.consent, partner]
            await self.services.cases.set_facts(case, facts.as_dict(), {}, by=user.username)
        return case

    async def set_due(self, case_id: str, user: User, day: str) -> Case:
        """A follow-up date (YYYY-MM-DD, a day in the helpline's time zone; "" clears
        it): the case is listed as due from that day on, and overdue after it."""
        case = await self._open_case(case_id)
        self._may_work_on(case, user)
        due_at = None
        if day.strip():
            try:
                date = dt.date.fromisoformat(day.strip())
            except ValueError:
                raise CaseworkError(_("Give the follow-up date as a day.")) from None
            start = dt.datetime.combine(date, dt.time(), tzinfo=ZoneInfo(self.timezone))
            due_at = start.timestamp()
        await self.services.cases.set_due(case, due_at, by=user.username)
        return case

    async def due(self, user: User, now: float | None = None) -> list[Case]:
        """Cases due for follow-up today or overdue: an operator's own (and those shared
        with them), every one for supervisors."""
        zone = ZoneInfo(self.timezone)
        today = dt.datetime.fromtimestamp(now or time.time(), tz=zone).date()
        tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        found = await self.services.cases.due_by(tomorrow.timestamp() - 1)
        if user.role in SUPERVISING:
            return found
        return [c for c in found if c.assignee == user.username or user.username in c.shared_with]

    async def follow_up(self, case_id: str, user: User) -> str:
        """A gentle word to the worker from the case page: on WhatsApp outside the
        24-hour window the approved template instead. Returns which went out."""
        case = await self._open_case(case_id)
        self._may_work_on(case, user)
        if case.sender is None:
            raise Conflict(_("The worker erased their data: there is nobody to write to."))
        if WATCHED in case.marks:
            raise Conflict(
                _("The worker may be watched: write to them yourself, neutrally, instead.")
            )
        if await self.delivery.window_closed(case.sender):
            await self.send_template(case_id, user)
            return "template"
        session = await self._sessions.load(case.sender)
        if session.stopped_at is not None:
            raise Conflict(_("The worker asked us to stop writing to them."))
        await self.services.cases.add_event(case.id, "follow_up", {"by": user.username})
        await self._tell_worker(
            case,
            lambda: _(
                "Hello, this is the helpline about your case {case}. How are things now? "
                "You can answer here whenever you are ready."
            ).format(case=case.id),
        )
        return "sent"

    async def referral_packet(
        self, case_id: str, user: User, partner: str, parts: set[str], note: str
    ) -> list[tuple[str, str]]:
        """The sections of a referral packet for ``partner``: only with the worker's
        consent to share with that partner on the case, and only the ``parts`` the
        operator chose (PACKET_PARTS); the sharing goes on the timeline."""
        case = await self.case(case_id)
        self._may_work_on(case, user)
        facts = Facts.of(case.facts)
        if partner not in facts.consent:
            raise NotAllowed(
                _("The worker has not agreed to share their case with {partner}.").format(
                    partner=partner
                )
            )
        chosen = sorted(parts & set(PACKET_PARTS))
        opened = format_datetime(dt.datetime.fromtimestamp(case.created_at, tz=dt.UTC))
        sections = [
            (
                _("Case"),
                "\n".join(
                    [
                        f"{case.id} ({opened})",
                        _("Country") + f": {case.country or '-'}",
                        _("Category") + f": {case.category} / {case.intent}",
                        _("Referred to") + f": {partner}",
                    ]
                ),
            )
        ]
        if "summary" in chosen and case.summary:
            sections.append((_("What the worker told us first"), case.summary))
        if "facts" in chosen:
            sections.append((_("Case facts"), describe_facts(facts)))
        if "messages" in chosen:
            said = [
                str(e.get("text") or "")
                for e in await self.services.cases.timeline(case.id)
                if e.get("kind") == "worker_message" and e.get("text")
            ]
            sections.append((_("The worker's messages"), "\n".join(said) or "-"))
        if note.strip():
            sections.append((_("From the operator"), note.strip()[:MAX_REPLY]))
        await self.services.cases.add_event(
            case.id, "packet", {"by": user.username, "partner": partner, "parts": chosen}
        )
        return sections

    async def release(self, case_id: str, user: User | None, *, reason: str = "") -> Case:
        """Back on the queue for the next operator; the bot answers the worker meanwhile."""
        case = await self._open_case(case_id)
        by = user.username if user else "system"
        if user is not None:
            self._may_work_on(case, user)
        try:
            await self.queue.release(case_id)
        except NotQueued:
            kind = "emergency" if case.priority == Priority.CRITICAL.value else "human"
            await self.queue.put(
                Escalation(
                    case.id,
                    case.priority,
                    kind,
                    case.sender or "",
                    case.summary[:SUMMARY_CHARS],
                    marks=tuple(case.marks),
                )
            )
        if case.assignee is not None:
            await self.services.cases.assign(case, None, by=by)
        if reason:
            await self.services.cases.add_event(case.id, "released", {"by": by, "reason": reason})
        if case.sender is not None:
            async with self._sessions.lock(case.sender):
                session = await self._sessions.load(case.sender)
                if session.case_id == case.id:
                    session.owner = BOT
                    await self._sessions.save(session)
            await self._tell_worker(
                case,
                lambda: _(
                    "The person who was helping you had to stop. Your case {case} is back "
                    "in our queue, and the next person on duty will write to you here."
                ).format(case=case.id),
            )
        return case

    async def transfer(self, case_id: str, user: User, to: str) -> Case:
        case = await self._open_case(case_id)
        self._may_work_on(case, user)
        target = await self.users.get(to)
        if target is None or target.disabled or target.role not in CASE_ROLES:
            raise CaseworkError(_("{name} cannot take cases.").format(name=to))
        with contextlib.suppress(NotQueued):
            await self.queue.transfer(case_id, to)
        await self.services.cases.assign(case, to, by=user.username)
        if case.sender is not None:
            async with self._sessions.lock(case.sender):
                session = await self._sessions.load(case.sender)
                if session.case_id == case.id and session.owner != BOT:
                    session.owner = operator_owner(to)
                    await self._sessions.save(session)
        return case

    async def _close(self, case: Case, user: User, status: Status, outcome: str) -> Case:
        try:
            await self.services.cases.set_status(case, status, by=user.username, outcome=outcome)
        except CaseError as exc:
            raise Conflict(str(exc)) from None
        await self.queue.done(case.id)
        if case.sender is None:
            return case
        async with self._sessions.lock(case.sender):
            session = await self._sessions.load(case.sender)
            if session.case_id == case.id:
                session.owner, session.case_id = BOT, None
                session.clear_flow()
                await self._sessions.save(session)
        await self._tell_worker(
            case,
            lambda: _(
                "Your case {case} is now closed. Thank you for trusting us. Keep this case "
                "number: if the problem comes back or you need help again, write here and "
                "mention it. From now on the helpline's assistant answers you again; write "
                '"menu" to see what it can do.'
            ).format(case=case.id),
        )
        # One question about the help - not to a worker who asked us to stop writing.
        if (await self._sessions.load(case.sender)).stopped_at is None:
            await self._tell_worker(case, lambda: survey_question(case.id), survey_buttons(case.id))
        return case

    async def _open_case(self, case_id: str) -> Case:
        case = await self.case(case_id)
        if not case.is_open:
            raise Conflict(
                _("Case {case} was {status} meanwhile: nothing was changed.").format(
                    case=case.id, status=_(STATUS_LABELS.get(case.status, case.status))
                )
            )
        return case

    async def _assign(self, case: Case, user: User) -> Case:
        if case.assignee != user.username:
            await self.services.cases.assign(case, user.username, by=user.username)
        return case

    def may_view(self, case: Case, user: User) -> None:
        """Operators see the queue, their cases and cases shared with them; supervisors
        and admins see all."""
        if user.role not in CASE_ROLES:
            raise NotAllowed(_("Your role cannot work on cases."))
        if user.role not in SUPERVISING and not visible(case, user.username):
            raise NotAllowed(
                _("Case {case} is not yours; ask its operator or a supervisor to share it.").format(
                    case=case.id
                )
            )

    async def share(self, case_id: str, user: User, with_user: str, *, share: bool = True) -> Case:
        """Shares the case with another operator (or stops sharing it)."""
        case = await self.case(case_id)
        self._may_work_on(case, user)
        if case.assignee != user.username and user.role not in SUPERVISING:
            raise NotAllowed(_("Only the case's operator or a supervisor can share it."))
        target = await self.users.get(with_user)
        if target is None or target.role not in CASE_ROLES:
            raise CaseworkError(_("{name} cannot take cases.").format(name=with_user))
        if share and with_user not in case.shared_with:
            case.shared_with.append(with_user)
        elif not share and with_user in case.shared_with:
            case.shared_with.remove(with_user)
        else:
            return case
        await self.services.cases.save(case)
        kind = "shared" if share else "unshared"
        await self.services.cases.add_event(case.id, kind, {"by": user.username, "with": with_user})
        return case

    def _may_work_on(self, case: Case, user: User) -> None:
        if user.role not in CASE_ROLES:
            raise NotAllowed(_("Your role cannot work on cases."))
        if case.assignee not in (None, user.username) and user.role not in SUPERVISING:
            raise NotAllowed(
                _("Case {case} belongs to {name}; ask them or a supervisor.").format(
                    case=case.id, name=case.assignee
                )
            )

    async def _tell_worker(
        self, case: Case, text: Callable[[], str], buttons: Callable[[], list[Button]] | None = None
    ) -> None:
        """A message to the worker from the helpline, in the worker's language. Not to a
        worker who may be watched (the code word): a message that names the helpline
        could put them in danger; the operator writes to them neutrally instead."""
        if case.sender is None:
            return
        if WATCHED in case.marks:
            log.info("%s: the helpline's message held back (worker may be watched)", case.id)
            return
        locale = await self._worker_locale(case)
        with use_locale(locale):
            shown = tuple(buttons()) if buttons else ()
            message = Outbound(text=text(), buttons=shown, locale=locale)
        await self.delivery.deliver(case.sender, [message])


def _locale_of(session: Session, case: Case) -> str:
    return session.locale or case.locale or "id"
