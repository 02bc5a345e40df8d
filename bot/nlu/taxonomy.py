"""The NLU taxonomy from DESIGN.md: every intent belongs to exactly one category.

The rest of the helpline routes on categories; intents choose the answer.
"""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    EMERGENCY = "emergency"
    COMPLAINT = "complaint"
    RIGHTS_QUESTION = "rights_question"
    OTHER = "other"


INTENTS_BY_CATEGORY: dict[Category, tuple[str, ...]] = {
    Category.EMERGENCY: (
        "emergency_violence",
        "emergency_sexual",
        "emergency_confinement",
        "emergency_medical",
        "emergency_self_harm",
        "emergency_stranded",
    ),
    Category.COMPLAINT: ("complaint_employer", "complaint_agency", "complaint_service"),
    Category.RIGHTS_QUESTION: (
        "rights_wages",
        "rights_rest_day",
        "rights_contract",
        "rights_documents",
        "rights_recruitment_fees",
        "rights_health",
        "rights_going_home",
        "rights_legal_help",
        "rights_working_hours",
        "rights_termination",
        "rights_maternity",
        "rights_agency_check",
        "rights_scam_jobs",
        "rights_debts",
        "rights_social_security",
        "rights_undocumented",
        "rights_death_abroad",
        "rights_families",
        "rights_before_you_leave",
    ),
    Category.OTHER: (
        "greet",
        "goodbye",
        "thanks",
        "affirm",
        "deny",
        "request_human",
        "choose_language",
        "check_case",
        "out_of_scope",
    ),
}

CATEGORY_OF_INTENT: dict[str, Category] = {
    intent: category for category, intents in INTENTS_BY_CATEGORY.items() for intent in intents
}

ALL_INTENTS: tuple[str, ...] = tuple(CATEGORY_OF_INTENT)
EMERGENCY_INTENTS: frozenset[str] = frozenset(INTENTS_BY_CATEGORY[Category.EMERGENCY])

OUT_OF_SCOPE = "out_of_scope"
# Said when the Rasa server could not be asked.
UNKNOWN = "unknown"
# What Rasa's FallbackClassifier puts on top when the model is unsure.
RASA_FALLBACK = "nlu_fallback"


def category_of(intent: str) -> Category:
    """The category of an intent; anything outside the taxonomy is "other"."""
    return CATEGORY_OF_INTENT.get(intent, Category.OTHER)
