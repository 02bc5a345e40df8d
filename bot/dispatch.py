"""Dispatch: one inbound message in, the worker's replies out.

Loads the session under a per-sender lock (two messages from one sender at the same
moment are handled one after the other), resolves the locale, applies the per-sender
rate limit, and sends every kind of message through the same safety decision: a code
word, a caption, a voice note, a location pin or text. While an operator owns the
conversation the bot stays silent - except for "delete my data" and "stop", which the
bot always handles - and the case gets everything the worker sends.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable

from bot import langdetect
from bot.delivery import Delivery
from bot.i18n import _, use_locale
from bot.messages import Inbound, Outbound
from bot.nlu.client import Classification, NLUClient
from bot.nlu.late import KeptMessage, LateChecks
from bot.nlu.safety import SHORT_ANSWER_POLICY
from bot.services import Services
from bot.store.cases import Priority
from bot.store.counters import MessageRates
from bot.store.sessions import BOT, Session
from flows import alerts, attachments, discreet, emergency, router
from flows.base import Turn
from flows.onboarding import privacy_notice

log = logging.getLogger(__name__)

ERASED_REPLY_SECONDS = 300


class Dispatcher:
    def __init__(
        self,
        services: Services,
        nlu: NLUClient,
        delivery: Delivery,
        rates: MessageRates,
        *,
        rate_limit_per_minute: int = 20,
        late: LateChecks | None = None,
    ) -> None:
        self._rates = rates
        self.services, self.nlu, self.delivery = services, nlu, delivery
        self._rate_limit = rate_limit_per_minute
        self.late = late

    async def handle(self, inbound: Inbound, entry_id: str | None = None) -> list[Outbound]:
        """Handles one message; ``entry_id`` (its inbox entry) is marked answered in the
        same step as its replies are kept."""
        async with self.services.sessions.lock(inbound.sender):
            session = await self.services.sessions.load(inbound.sender)
            turn = Turn(inbound, session, self.services)
            with use_locale(self._resolve_locale(session, inbound)):
                owed = session.privacy_pending
                await self._handle(turn)
                if owed and session.privacy_pending and not turn.erased and turn.replies:
                    # The notice a crisis postponed: after this turn's help, never before.
                    turn.say(privacy_notice())
                    session.privacy_pending = False
            if not turn.erased:
                # Alerts follow the worker to the country this turn set, however it was set.
                await alerts.country_changed(turn)
                await self.services.sessions.save(session)
        turn.replies[:] = _in_locale(turn.replies, session.locale or langdetect.DEFAULT)
        if turn.erased:
            await self._erased(inbound.sender, turn.replies, entry_id)
        elif turn.replies or entry_id is not None:
            await self.delivery.deliver(inbound.sender, turn.replies, answering=entry_id)
        return turn.replies

    async def _erased(
        self, sender: str, replies: list[Outbound], entry_id: str | None = None
    ) -> None:
        """The confirmation goes out, then the channel forgets the worker (what it sent
        them included); nothing of the erased conversation is recorded again."""
        outbox_only = not self.delivery.sends_itself(sender)
        await self.delivery.deliver(sender, replies, record=outbox_only, answering=entry_id)
        if self.late is not None:
            await self.late.erase(sender)
        await self.delivery.erase(sender)
        if outbox_only:
            # The web chat reads the confirmation from the outbox: it stays for a page
            # that reconnects, then goes.
            await self.delivery.forget(sender, ERASED_REPLY_SECONDS)

    async def act(
        self, inbound: Inbound, step: Callable[[Turn], Awaitable[None]], locale: str | None = None
    ) -> list[Outbound]:
        """A flow step for a worker that no message of theirs started (a timer ran out, a
        message was read again): under the same lock, then the replies are delivered."""
        async with self.services.sessions.lock(inbound.sender):
            session = await self.services.sessions.load(inbound.sender)
            turn = Turn(inbound, session, self.services)
            with use_locale(session.locale or locale or langdetect.DEFAULT):
                await step(turn)
            await self.services.sessions.save(session)
        turn.replies[:] = _in_locale(turn.replies, session.locale or locale or langdetect.DEFAULT)
        if turn.replies:
            await self.delivery.deliver(inbound.sender, turn.replies)
        return turn.replies

    async def late_emergency(self, kept: KeptMessage, classification: Classification) -> None:
        """A message read while the NLU was down reads as an emergency now."""
        channel, _sep, user_id = kept.sender.partition(":")
        inbound = Inbound(
            channel=channel,
            user_id=user_id,
            message_id=f"late:{kept.message_id}",
            text=kept.text,
            received_at=kept.at,
        )

        async def step(turn: Turn) -> None:
            turn.classification = classification
            await emergency.detected_late(turn, classification.intent)

        await self.act(inbound, step, kept.locale)

    async def location_unanswered(self, sender: str, key: str) -> None:
        channel, _sep, user_id = sender.partition(":")
        inbound = Inbound(channel=channel, user_id=user_id, message_id=f"timer:{key}")
        await self.act(inbound, lambda turn: attachments.location_unanswered(turn, key))

    def _resolve_locale(self, session: Session, inbound: Inbound) -> str:
        if session.locale is None or (not session.locale_chosen and session.is_new):
            detected = langdetect.detect(inbound.text, inbound.language_hint)
            if detected:
                session.locale = detected
        return session.locale or langdetect.DEFAULT

    async def _over_rate_limit(self, sender: str) -> int:
        window = int(time.time() // 60)
        count = await self._rates.count(sender, window)
        return max(0, count - self._rate_limit)

    async def _handle(self, turn: Turn) -> None:
        inbound, session = turn.inbound, turn.session
        over = await self._over_rate_limit(inbound.sender)
        # A flood gets one notice and then silence, unless it reads like a crisis.
        if over and not self.nlu.lexicon.match(inbound.text) and session.owner == BOT:
            if over == 1:
                turn.say(_("You are sending messages very fast. Please wait a minute."))
            log.info("rate limit: a sender is %d over", over)
            return
        if session.stopped_at is not None:
            session.stopped_at = None  # they wrote again: the team may answer
        if discreet.is_code_word(turn):
            await discreet.code_word(turn)
            return
        if session.owner != BOT:
            if session.case_id and not router.for_the_bot(turn):
                await self._relay_to_operator(turn)
                return
            if not session.case_id:
                session.owner = BOT
        open_case = await self._open_case(turn)
        if open_case:
            await attachments.add_to_case(turn)
        if inbound.payload is not None:
            await router.handle_payload(turn, inbound.payload)
            return
        if inbound.location is not None or inbound.media is not None:
            if not open_case:
                await attachments.keep_waiting(turn)
            turn.classification = await self._classify(turn) if inbound.text.strip() else None
            if await attachments.handle(turn, open_case=open_case):
                await router.handle_text(turn)
            return
        # A short answer ("3", "tidak dikasih") has no context the model can read, so it
        # is held to a stricter emergency bar; anything longer is read as any message.
        # A family member's answers about someone else (a name, "gk tau, di Johor") are
        # held to it too: the lexicon and a confident model still count.
        short_answer = (
            (session.flow == "calc" and len(inbound.text.split()) <= 4)
            or (session.flow == "complaint" and session.step in ("since", "against"))
            or session.flow == "family"
        )
        turn.classification = await self._classify(
            turn, SHORT_ANSWER_POLICY if short_answer else None
        )
        if session.data.pop("expired", False) and not turn.classification.emergency:
            turn.say(_("Welcome back. Our last conversation ended, so let us start afresh."))
        await router.handle_text(turn)

    async def _classify(self, turn: Turn, policy: object = None) -> Classification:
        """The NLU's reading with the safety layer; when the model could not be asked,
        the message is kept to be read again once it is back (bot/nlu/late.py)."""
        classification = await self.nlu.classify(turn.inbound.text, policy)  # type: ignore[arg-type]
        if classification.country and turn.session.country is None:
            turn.session.country = classification.country
        if not classification.nlu_available and not classification.emergency and self.late:
            await self.late.keep(turn.inbound, turn.session.locale)
        return classification

    async def _open_case(self, turn: Turn) -> bool:
        """True when the worker has an open case; notes whether it waits in the queue."""
        session = turn.session
        if not session.case_id:
            return False
        case = await self.services.cases.get(session.case_id)
        if case is None or not case.is_open:
            session.case_id = None
            return False
        if case.assignee is None and await self.services.escalations.is_queued(case.id):
            turn.waiting_case = case
        return True

    async def _relay_to_operator(self, turn: Turn) -> None:
        """An operator owns the conversation: the bot says nothing; the case gets it all,
        and an emergency in what the worker writes still raises the case."""
        session, inbound = turn.session, turn.inbound
        assert session.case_id is not None
        await attachments.add_to_case(turn, to=session.owner)
        if not inbound.text.strip():
            return
        classification = await self._classify(turn)
        if classification.emergency:
            case = await self.services.cases.get(session.case_id)
            if case is not None and case.priority != Priority.CRITICAL.value:
                await emergency.open_emergency(turn, classification.intent, inbound.text)


def _in_locale(replies: list[Outbound], locale: str) -> list[Outbound]:
    """Each reply carries the worker's language to the channel that sends it."""
    return [r if r.locale else dataclasses.replace(r, locale=locale) for r in replies]
