"""What the console shows instead of the helpline's own codes: categories, intents,
countries and timeline events, translated (the pages never show `hong_kong` or
`human_requested`)."""

from __future__ import annotations

from typing import Any

from bot.case_facts import AGAINST, SECTORS, VIOLATIONS
from bot.i18n import N_, _
from flows.calculator import LINE_NAMES
from flows.complaint import SINCE
from flows.family import DANGER
from flows.onboarding import COUNTRY_NAMES

CATEGORY_LABELS = {
    "emergency": N_("emergency"),
    "complaint": N_("complaint"),
    "rights_question": N_("rights question"),
    "other": N_("other"),
    "human": N_("asked for a person"),
}

INTENT_LABELS = {
    "emergency_violence": N_("violence"),
    "emergency_sexual": N_("sexual violence"),
    "emergency_confinement": N_("locked in or confined"),
    "emergency_medical": N_("medical emergency"),
    "emergency_self_harm": N_("self-harm"),
    "emergency_stranded": N_("stranded, nowhere to go"),
    "complaint_employer": N_("complaint about the employer"),
    "complaint_agency": N_("complaint about the agency"),
    "complaint_service": N_("complaint about a service"),
    "rights_wages": N_("wages"),
    "rights_rest_day": N_("rest day"),
    "rights_contract": N_("contract"),
    "rights_documents": N_("documents"),
    "rights_recruitment_fees": N_("recruitment fees"),
    "rights_health": N_("health"),
    "rights_going_home": N_("going home"),
    "rights_legal_help": N_("legal help"),
    "rights_working_hours": N_("working hours"),
    "rights_termination": N_("termination, changing employer"),
    "rights_maternity": N_("pregnancy and maternity"),
    "rights_agency_check": N_("checking an agency"),
    "rights_scam_jobs": N_("fake job offers, scams"),
    "rights_debts": N_("debts and online loans"),
    "rights_social_security": N_("BPJS social security"),
    "rights_undocumented": N_("undocumented, overstaying"),
    "rights_death_abroad": N_("death abroad"),
    "rights_families": N_("families at home"),
    "rights_before_you_leave": N_("before leaving"),
    "family_report": N_("a family member cannot reach a worker"),
    "request_human": N_("asked for a person"),
    "check_case": N_("asked about a case"),
    "out_of_scope": N_("something else"),
    "unknown": N_("not understood (the NLU was down)"),
}

# Timeline events that need no more than a sentence with who did it.
EVENT_LABELS = {
    "human_requested": N_("The worker asked to talk to a person"),
    "released": N_("%(name)s put the case back on the queue"),
    "reopened": N_("%(name)s reopened the case"),
    "packet": N_("%(name)s made a referral packet for %(partner)s"),
    "requeued": N_("Put back on the queue"),
    "follow_up": N_("%(name)s sent the worker a follow-up"),
}


# The names of what an operator sets on a case (timeline entries of changed facts).
FACT_NAMES = {
    "intent": N_("Intent"),
    "category": N_("Category"),
    "country": N_("Country"),
    "sector": N_("Sector"),
    "against": N_("Against"),
    "agency": N_("Agency"),
    "agency_licence": N_("P3MI licence number"),
    "violations": N_("Violations"),
    "currency": N_("Currency"),
    "owed": N_("Amount owed"),
    "recovered": N_("Amount recovered"),
    "gender": N_("Worker's gender"),
    "consent": N_("Consent to share with"),
}


def fact_value(name: str, value: Any) -> str:
    """A fact's value as the console shows it: labelled, lists joined, "-" for none."""
    if value in (None, "", [], 0, 0.0):
        return "-"
    if isinstance(value, list):
        return ", ".join(fact_value(name, v) for v in value)
    table: dict[str, Any] = {
        "intent": INTENT_LABELS,
        "category": CATEGORY_LABELS,
        "country": COUNTRY_NAMES,
        "sector": SECTORS,
        "against": AGAINST,
        "violations": {k: v.label for k, v in VIOLATIONS.items()},
    }.get(name, {})
    return _(table[value]) if value in table else str(value)


def labels() -> dict[str, Any]:
    """Every translated label table, for the templates."""
    return {
        "category_labels": {k: _(v) for k, v in CATEGORY_LABELS.items()},
        "intent_labels": {k: _(v) for k, v in INTENT_LABELS.items()},
        "country_labels": {k: _(v) for k, v in COUNTRY_NAMES.items()},
        "claim_line_labels": {k: _(v) for k, v in LINE_NAMES.items()},
        "event_labels": {k: _(v) for k, v in EVENT_LABELS.items()},
        "since_labels": {k: _(v) for k, v in SINCE.items()},
        "danger_labels": {k: _(v) for k, v in DANGER.items()},
        "fact_names": {k: _(v) for k, v in FACT_NAMES.items()},
        "fact_value": fact_value,
    }
