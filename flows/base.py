"""What every flow works with: the turn being handled and the services it may use."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.i18n import _
from bot.kb import KnowledgeBase
from bot.messages import Button, Inbound, Outbound
from bot.nlu.client import Classification
from bot.staffing import OnDuty
from bot.store.cases import CaseStore
from bot.store.escalations import EscalationQueue
from bot.store.evidence import EvidenceStore
from bot.store.outbox import Outbox
from bot.store.sessions import Session, SessionStore


@dataclass(frozen=True)
class Services:
    kb: KnowledgeBase
    cases: CaseStore
    escalations: EscalationQueue
    sessions: SessionStore
    outbox: Outbox
    on_duty: OnDuty
    evidence: EvidenceStore


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

    @property
    def locale(self) -> str:
        return self.session.locale or "id"

    @property
    def country(self) -> str | None:
        if self.classification and self.classification.country:
            return self.classification.country
        return self.session.country

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
        Button(_("Language"), "settings:language"),
        Button(_("Country"), "settings:country"),
        Button(_("Privacy and my data"), "privacy"),
    ]
