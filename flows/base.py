"""What every flow works with: the turn being handled and the services it may use."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.i18n import _
from bot.kb import KnowledgeBase
from bot.messages import Button, Inbound, Outbound
from bot.nlu.client import Classification
from bot.staffing import OnDuty
from bot.store.cases import Case, CaseStore
from bot.store.erasure import Erasures
from bot.store.escalations import EscalationQueue
from bot.store.evidence import EvidenceStore, WaitingEvidence
from bot.store.intake import Intake
from bot.store.outbox import Outbox
from bot.store.sessions import Session, SessionStore
from bot.store.timers import Timers


@dataclass(frozen=True)
class FlowSettings:
    """The helpline's choices that flows apply (from bot.config.Settings)."""

    # A worker waiting in the queue is told so at most this often.
    queue_notice_seconds: float = 180.0
    # A location pin with no words: how long "are you in danger?" waits for an answer
    # before the pin goes to an operator anyway.
    location_answer_seconds: float = 180.0
    # Phrases a worker who may be watched sends to ask for help without saying so.
    code_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Services:
    kb: KnowledgeBase
    cases: CaseStore
    escalations: EscalationQueue
    sessions: SessionStore
    outbox: Outbox
    on_duty: OnDuty
    evidence: EvidenceStore
    intake: Intake
    waiting: WaitingEvidence
    timers: Timers
    erasures: Erasures
    settings: FlowSettings = field(default_factory=FlowSettings)


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
