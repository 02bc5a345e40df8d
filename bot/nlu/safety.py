"""The safety layer: an emergency must never be missed because the model was unsure.

The final routing decision (``decide``) is "emergency" when any of these holds:
- the model's answer says so: with its binary emergency score (``emergency_score``, in
  every answer of a model trained from config.yml), a weighted sum of that score and the
  emergency intents' share of the blended ranking reaches a threshold; a model without
  the score is read by ranking rules instead (its top intent, a runner-up, or the
  emergency intents' total);
- the curated crisis lexicon (``crisis_lexicon.yml``) matches the message, outside the
  phrases it lists as harmless.
The lexicon also runs when the Rasa server is down, so its verdict still reaches a human.
Short answers to the bot's own questions are judged by the stricter
``SHORT_ANSWER_POLICY``, since the model has no context for them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from bot.nlu.taxonomy import ALL_INTENTS, EMERGENCY_INTENTS, Category, category_of

_SQUEEZE = re.compile(r"([a-z])\1+")
_NON_WORD = re.compile(r"[^\w']+")
# Indonesian reduplication written with a 2: "dipukul2" is "dipukul pukul".
_REDUPLICATED = re.compile(r"\b([a-z]{2,})2\b")


def normalise(text: str) -> str:
    """Lower case, no accents, words separated by single spaces, repeated letters squeezed."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    spaced = _NON_WORD.sub(" ", stripped.replace("_", " ")).strip()
    return _SQUEEZE.sub(r"\1", _REDUPLICATED.sub(r"\1 \1", spaced))


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])(?:" + _SQUEEZE.sub(r"\1", pattern) + r")(?![\w'])")


@dataclass(frozen=True)
class LexiconHit:
    intent: str
    phrase: str


class CrisisLexicon:
    """Crisis phrases in Indonesian and English, with the spans that must not count."""

    def __init__(
        self,
        patterns: Mapping[str, Sequence[str]],
        whole_message: Mapping[str, Sequence[str]],
        exceptions: Sequence[str],
    ) -> None:
        for intent in (*patterns, *whole_message):
            if intent not in EMERGENCY_INTENTS:
                raise ValueError(f"crisis lexicon names {intent!r}, not an emergency intent")
        self._patterns = [(i, _compile(p)) for i, ps in patterns.items() for p in ps]
        self._whole = [
            (i, re.compile(r"(?:" + _SQUEEZE.sub(r"\1", p) + r")"))
            for i, ps in whole_message.items()
            for p in ps
        ]
        self._exceptions = [_compile(p) for p in exceptions]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CrisisLexicon:
        return cls(
            patterns=data.get("patterns") or {},
            whole_message=data.get("whole_message") or {},
            exceptions=data.get("exceptions") or [],
        )

    @classmethod
    def load(cls) -> CrisisLexicon:
        """The lexicon shipped with the bot package."""
        text = resources.files("bot.nlu").joinpath("crisis_lexicon.yml").read_text("utf-8")
        return cls.from_mapping(yaml.safe_load(text))

    def match(self, text: str) -> list[LexiconHit]:
        """Every crisis phrase in the message that no exception covers."""
        norm = normalise(text)
        if not norm:
            return []
        for intent, whole in self._whole:
            if whole.fullmatch(norm):
                return [LexiconHit(intent, norm)]
        covered = [m.span() for exc in self._exceptions for m in exc.finditer(norm)]
        hits: list[LexiconHit] = []
        for intent, pattern in self._patterns:
            for m in pattern.finditer(norm):
                start, end = m.span()
                if not any(a <= start and end <= b for a, b in covered):
                    hits.append(LexiconHit(intent, m.group(0)))
                    break
        return hits


@dataclass(frozen=True)
class SafetyPolicy:
    """Thresholds of the safety layer, chosen with ``helpline nlu evaluate``.

    Chosen on cross-validation predictions to miss as few emergencies as possible (a
    missed emergency is the worst failure; a false alarm costs an operator a look), then
    checked on the held-out messages of tests/data/heldout.yml.
    """

    # With the model's emergency score (nlu_pipeline/emergency.py, in every answer of a
    # model trained from config.yml): a message is an emergency when
    # ``combined_weight`` x the emergency intents' total probability (in the ranking
    # blended by nlu_pipeline/blend.py) + the rest x that score reaches
    # ``combined_threshold``. The blended ranking is the better judge of the two, so it
    # weighs more. 0.7 / 0.42 was chosen on 5,666 examples (5-fold CV recall 0.974 at 4.8%
    # false alarms). With 6,079 examples (the later ones include hard negatives with
    # everyday 'mati' and 'dying' words) 0.42 caught only 0.967 in the same CV, and 0.39
    # caught 0.975 at 4.95% false alarms. With the word n-grams seen only once left out of
    # DIET's features and the blend at 0.4/0.6 (config.yml), 0.38 catches 0.976 at 4.8%
    # (0.39: 0.974 at 4.6%; 0.37: 0.977 at 5.1%; weight 0.65 with 0.39: 0.976 at 5.0%;
    # 0.75 with 0.36: 0.977 at 4.9%), measured offline on the CV predictions, then by
    # `helpline nlu evaluate`. The ranking rules below added nothing to it, so with a
    # score they are not used.
    combined_weight: float = 0.7
    combined_threshold: float = 0.38

    # Without the score (a model trained without the scorer): the ranking rules, chosen
    # the same way on the DIET-only predictions (recall 0.950, false alarms 0.050).
    #
    # The model's top intent is an emergency intent with at least this confidence.
    top_confidence: float = 0.15
    # An emergency intent among the top ``rank_depth`` intents with at least this confidence
    # when the model reads the message as a complaint (or an unsure emergency): the place
    # where emergencies told as grievances hide.
    rank_depth: int = 2
    rank_confidence: float = 0.05
    # The same when the model reads a rights question or small talk: there a runner-up
    # emergency is mostly noise (most alarms it raised in cross-validation were false), so
    # it must be far more probable.
    rank_confidence_elsewhere: float = 0.30
    # The emergency intents together hold at least this much probability. Kept above
    # their share under a flat distribution (6 of 26 intents, about 0.23), or every
    # message the model cannot read at all ("hapus data sy semua") would raise an alarm.
    total_confidence: float = 0.30


@dataclass(frozen=True)
class Verdict:
    emergency: bool
    # "model", "ranking", "lexicon" or None: why the message counts as an emergency.
    reason: str | None
    # The emergency intent the decision points to (for the emergency flow's wording).
    intent: str | None


def decide(
    ranking: Sequence[tuple[str, float]],
    hits: Sequence[LexiconHit],
    policy: SafetyPolicy = SafetyPolicy(),
    emergency_score: float | None = None,
) -> Verdict:
    """The final emergency decision from the model's ranking and the lexicon's hits.

    ``ranking`` holds (intent, confidence) pairs, best first, taxonomy intents only;
    ``emergency_score`` is the model's binary emergency probability, when it gave one.
    """
    ranked = [(i, c) for i, c in ranking if i in ALL_INTENTS]
    total = sum(c for i, c in ranked if i in EMERGENCY_INTENTS)
    if emergency_score is not None:
        w = policy.combined_weight
        if w * total + (1.0 - w) * emergency_score >= policy.combined_threshold:
            return Verdict(True, "model", _likeliest_emergency(ranked, hits))
    elif ranked:
        top_intent, top_conf = ranked[0]
        if top_intent in EMERGENCY_INTENTS and top_conf >= policy.top_confidence:
            return Verdict(True, "model", top_intent)
        threshold = (
            policy.rank_confidence
            if category_of(top_intent) in (Category.COMPLAINT, Category.EMERGENCY)
            else policy.rank_confidence_elsewhere
        )
        for intent, conf in ranked[: policy.rank_depth]:
            if intent in EMERGENCY_INTENTS and conf >= threshold:
                return Verdict(True, "ranking", intent)
        if total >= policy.total_confidence:
            return Verdict(True, "ranking", _likeliest_emergency(ranked, hits))
    if hits:
        return Verdict(True, "lexicon", hits[0].intent)
    return Verdict(False, None, None)


def _likeliest_emergency(ranked: Sequence[tuple[str, float]], hits: Sequence[LexiconHit]) -> str:
    """The emergency intent to act on: the model's likeliest one, else the lexicon's."""
    for intent, _ in ranked:
        if intent in EMERGENCY_INTENTS:
            return intent
    if hits:
        return hits[0].intent
    # The ranking holds only the top intents; a bare plea is read as violence too
    # (crisis_lexicon.yml, whole_message).
    return "emergency_violence"


# For short answers to a question the bot asked ("since when?" -> "sejak bulan maret"):
# the model has no context for them and its ranking is noise, so only a confident model
# or the lexicon count there.
SHORT_ANSWER_POLICY = SafetyPolicy(
    combined_threshold=0.8,
    top_confidence=0.6,
    rank_depth=1,
    rank_confidence=0.6,
    rank_confidence_elsewhere=0.6,
    total_confidence=0.8,
)
