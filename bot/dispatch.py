"""Dispatch: one inbound message in, the worker's replies out.

Loads the session under a per-sender lock (two messages from one sender at the same
moment are handled one after the other), resolves the locale, applies the per-sender
rate limit, keeps the bot silent while an operator owns the conversation, runs the NLU
with its safety layer and hands the turn to the flows.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis

from bot import langdetect
from bot.delivery import Delivery
from bot.i18n import _, use_locale
from bot.messages import Inbound, Outbound
from bot.nlu.client import Classification, NLUClient
from bot.nlu.safety import SHORT_ANSWER_POLICY
from bot.store.cases import Priority
from bot.store.escalations import Escalation
from bot.store.keys import Keys
from bot.store.sessions import BOT, Session
from flows import router
from flows.base import Services, Turn, menu_buttons

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        services: Services,
        nlu: NLUClient,
        delivery: Delivery,
        *,
        rate_limit_per_minute: int = 20,
    ) -> None:
        self._redis, self._keys = redis, keys
        self.services, self.nlu, self.delivery = services, nlu, delivery
        self._rate_limit = rate_limit_per_minute

    async def handle(self, inbound: Inbound) -> list[Outbound]:
        async with self.services.sessions.lock(inbound.sender):
            session = await self.services.sessions.load(inbound.sender)
            turn = Turn(inbound, session, self.services)
            with use_locale(self._resolve_locale(session, inbound)):
                await self._handle(turn)
            if not turn.erased:
                await self.services.sessions.save(session)
        if turn.erased:
            await self.delivery.erase(inbound.sender)
        if turn.replies:
            await self.delivery.deliver(inbound.sender, turn.replies)
        return turn.replies

    def _resolve_locale(self, session: Session, inbound: Inbound) -> str:
        if session.locale is None or (not session.locale_chosen and session.is_new):
            detected = langdetect.detect(inbound.text, inbound.language_hint)
            if detected:
                session.locale = detected
        return session.locale or langdetect.DEFAULT

    async def _over_rate_limit(self, sender: str) -> int:
        window = int(time.time() // 60)
        key = self._keys.rate(sender, window)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
        return max(0, int(count) - self._rate_limit)

    async def _handle(self, turn: Turn) -> None:
        inbound, session = turn.inbound, turn.session
        over = await self._over_rate_limit(inbound.sender)
        # A flood gets one notice and then silence, unless it reads like a crisis.
        if over and not self.nlu.lexicon.match(inbound.text):
            if over == 1:
                turn.say(_("You are sending messages very fast. Please wait a minute."))
            log.info("rate limit: %s is %d over", inbound.sender, over)
            return
        if session.owner != BOT:
            if session.case_id:
                await self._relay_to_operator(turn)
                return
            session.owner = BOT
        if session.case_id:
            await self._add_to_case(turn)
        if inbound.payload is not None:
            await router.handle_payload(turn, inbound.payload)
            return
        if inbound.location is not None or inbound.media is not None:
            await self._attachment(turn)
            return
        short_answer = session.flow == "complaint" and session.step in ("since", "against")
        turn.classification = await self.nlu.classify(
            inbound.text, SHORT_ANSWER_POLICY if short_answer else None
        )
        self._note_country(session, turn.classification)
        if session.data.pop("expired", False) and not turn.classification.emergency:
            turn.say(_("Welcome back. Our last conversation ended, so let us start afresh."))
        await router.handle_text(turn)

    def _note_country(self, session: Session, classification: Classification) -> None:
        if classification.country and session.country is None:
            session.country = classification.country

    async def _add_to_case(self, turn: Turn) -> None:
        case_id = turn.session.case_id
        assert case_id is not None
        case = await self.services.cases.get(case_id)
        if case is None or not case.is_open:
            turn.session.case_id = None
            return
        await self.services.cases.add_event(
            case_id, "worker_message", {"text": turn.inbound.text, "payload": turn.inbound.payload}
        )

    async def _attachment(self, turn: Turn) -> None:
        inbound, session = turn.inbound, turn.session
        if session.case_id:
            kind = "location" if inbound.location else "media"
            data = inbound.to_json()
            await self.services.cases.add_event(
                session.case_id, kind, {"location": data["location"], "media": data["media"]}
            )
            turn.say(_("Thank you, I added it to your case {case}.").format(case=session.case_id))
        else:
            turn.say(
                _("Thank you. Tell me in words what is happening, so I can help."),
                menu_buttons(),
            )

    async def _relay_to_operator(self, turn: Turn) -> None:
        """An operator owns the conversation: the bot says nothing; the case gets it all."""
        session, inbound = turn.session, turn.inbound
        assert session.case_id is not None
        await self.services.cases.add_event(
            session.case_id,
            "worker_message",
            {"text": inbound.text, "payload": inbound.payload, "to": session.owner},
        )
        if inbound.text:
            classification = await self.nlu.classify(inbound.text)
            case = await self.services.cases.get(session.case_id)
            if (
                classification.emergency
                and case is not None
                and await self.services.cases.raise_priority(case, Priority.CRITICAL)
            ):
                await self.services.escalations.put(
                    Escalation(case.id, case.priority, "emergency", session.sender, inbound.text)
                )
