"""A second opinion on one question only: is this message an emergency?

DIET spreads its probability over 26 intents, and an emergency told as a grievance
("my left eye is shut since sir lost his temper") often gets most of it under
complaint_employer, with the rest split between two or three emergency intents. This
model is a binary logistic regression over tf-idf weighted word, normalised-form
and character n-grams (tfidf.py), trained on the same examples with one label: does
the example belong to an emergency intent. It is a different kind of model on a
different question, so its mistakes are not DIET's; the bot's safety layer weighs the
two together (bot/nlu/safety.py). In 5-fold cross-validation the safety layer with DIET's
ranking alone caught 95.4% of emergencies at 5.0% false alarms, with the average of the
two 97.1% at 4.4% (crisis lexicon included in both).

It runs inside the pipeline's IntentBlender (blend.py), on the same tf-idf vectors as
the intent regression there, and adds ``emergency_score`` (0..1) to every /model/parse
answer. It is stored with the blender's model (storage.py): no pickle goes into the model
file.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.linear_model import LogisticRegression

OUTPUT = "emergency_score"
# C=10 (little regularisation) was the best of 0.3, 1, 3 and 10 in 5-fold CV.
DEFAULT_C = 10.0
DEFAULT_MAX_ITER = 3000
DEFAULT_PREFIX = "emergency_"


class EmergencyRegression:
    """The fitted binary model: one weight per tf-idf feature, and an intercept."""

    def __init__(self, coef: ArrayLike, intercept: float):
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = float(intercept)

    @classmethod
    def fit(
        cls,
        features: sp.csr_matrix,
        intents: list[str],
        prefix: str = DEFAULT_PREFIX,
        c: float = DEFAULT_C,
        max_iter: int = DEFAULT_MAX_ITER,
    ) -> EmergencyRegression:
        """Fitted on the examples' features; an example is an emergency by its intent."""
        labels = [intent.startswith(prefix) for intent in intents]
        if len(set(labels)) < 2:
            raise ValueError("the emergency score needs emergency and non-emergency examples")
        classifier = LogisticRegression(C=c, max_iter=max_iter, class_weight="balanced")
        classifier.fit(features, np.asarray(labels))
        return cls(classifier.coef_[0], float(classifier.intercept_[0]))

    def score(self, features: sp.csr_matrix) -> list[float]:
        """The probability that each message (a row of tf-idf features) is an emergency."""
        logits = features @ self.coef + self.intercept
        return [1.0 / (1.0 + math.exp(-float(z))) for z in logits]

    def to_json(self) -> dict[str, Any]:
        return {"coef": self.coef, "intercept": self.intercept}
