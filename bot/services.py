"""The services flows, channels and front-ends work with: one typed container.

Flows see it as ``turn.services``; the console and the channels reach it through the
Helpline (bot/helpline.py). Every field is a store (bot/store/) or a small service
over stores: nothing here talks to Redis itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.kb import KnowledgeBase
from bot.staffing import OnDuty
from bot.store.alerts import Alerts
from bot.store.cases import CaseStore
from bot.store.erasure import Erasures
from bot.store.escalations import EscalationQueue
from bot.store.evidence import EvidenceStore, WaitingEvidence
from bot.store.intake import Intake
from bot.store.outbox import Outbox
from bot.store.sessions import SessionStore
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
    alerts: Alerts
    settings: FlowSettings = field(default_factory=FlowSettings)
