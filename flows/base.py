"""What every flow works with: the turn being handled and the services it may use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.i18n import _
from bot.messages import Button, Inbound, Outbound
from bot.nlu.client import Classification
from bot.services import Services
from bot.store.cases import Case, Priority
from bot.store.intake import Escalated, Request
from bot.store.sessions import Session

# Turn.escalate's default country: the one the person writing set.
SESSION_COUNTRY = "<the session's country>"


@dataclass
class Turn:
    """One inbound message being handled: flows read it and add replies."""

    inbound: Inbound
    session: Session
    services: Services
    classification: Classification | None = None
    replies: list[Outbound] = field(default_factory=list)
    # Set by "delete my data": the session must not be written back.
    erased: bool = False
    # The worker's open case when it is waiting in the queue for a person (set by
    # dispatch before the flows run).
    waiting_case: Case | None = None
    # The conversation's first message, after the welcome: a question's answer may
    # need the country, which is asked for after it (flows/router.py).
    first_contact: bool = False

    @property
    def locale(self) -> str:
        return self.session.locale or "id"

    @property
    def message_key(self) -> str:
        """This message, as an idempotency key: a redelivery after a crash has the same."""
        return f"{self.inbound.channel}:{self.inbound.message_id}"

    @property
    def country(self) -> str | None:
        if self.classification and self.classification.country:
            return self.classification.country
        return self.session.country

    async def escalate(
        self,
        kind: str,
        category: str,
        intent: str,
        priority: Priority,
        *,
        summary: str = "",
        marks: tuple[str, ...] = (),
        details: dict[str, Any] | None = None,
        key: str | None = None,
        new_case: bool = False,
        country: str | None = SESSION_COUNTRY,
    ) -> Escalated:
        """Opens or raises the worker's case and puts it on the operator queue, in one
        atomic step (bot/store/intake.py); a retry with the same key finds the same case.
        The case becomes the conversation's case. ``country``: the case's country when it
        is not the one the person writing set (a family member reporting a worker; None:
        not known)."""
        escalated = await self.services.intake.escalate(
            Request(
                sender=self.session.sender,
                kind=kind,
                category=category,
                intent=intent,
                priority=priority,
                summary=summary,
                country=self.country if country == SESSION_COUNTRY else country,
                locale=self.locale,
                details=details or {},
                marks=marks,
                key=key or self.message_key,
                new_case=new_case,
            )
        )
        self.session.case_id = escalated.case.id
        return escalated

    def say(self, text: str, buttons: list[Button] | tuple[Button, ...] = ()) -> None:
        self.replies.append(Outbound(text=text, buttons=tuple(buttons)))


def human_button() -> Button:
    return Button(_("Talk to a person"), "human")


def menu_buttons() -> list[Button]:
    return [
        Button(_("My rights"), "menu:rights"),
        Button(_("Report a problem"), "menu:complaint"),
        human_button(),
        Button(_("My cases"), "cases"),
        Button(_("For families"), "topic:families"),
        Button(_("Before you leave"), "topic:before_you_leave"),
        Button(_("Alerts"), "alerts"),
        Button(_("Language"), "settings:language"),
        Button(_("Country"), "settings:country"),
        Button(_("Privacy and my data"), "privacy"),
    ]
