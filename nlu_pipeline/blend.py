"""A second intent classifier, blended with DIET's ranking.

DIET and a multi-class logistic regression over the tf-idf views of tfidf.py make
different mistakes on these short messages; the average of their probabilities is
right more often than either. This component comes after DIETClassifier in config.yml:
it fits the regression on the same examples, and at parse time replaces DIET's
``intent`` and ``intent_ranking`` with ``(1 - weight) * DIET + weight * regression`` over
all intents (an intent outside DIET's reported ranking counts as 0 there). The
FallbackClassifier after it then judges the blended confidence.

Measured by ``helpline nlu evaluate`` (5-fold CV, 5,666 examples): DIET alone gave
intent macro-F1 0.783 on the 4,012 examples before them, the regression alone 0.836 (a
scikit-learn run on the same folds); blended 0.4/0.6 with DIET at 30 epochs 0.845 in a
372 s training; 0.3/0.7 with DIET at 15 epochs 0.847 in 236 s; 0.2/0.8 0.844.
On 6,079 examples (farewells, short answers, hard negatives and grievances added):
DIET alone 0.838, the regression alone 0.849, blended 0.3/0.7 0.855 (0.35/0.65 0.857,
0.2/0.8 0.853; blends computed offline from the same folds' DIET-only predictions).
With DIET's word n-grams seen only once left out (config.yml): DIET alone 0.839, blended
0.4/0.6 0.855 (0.3/0.7 0.855, 0.25/0.75 0.856). config.yml blends 0.4/0.6 (weight 0.6,
DIET at 15 epochs) because the safety layer does better with that ranking: recall 0.976
at 4.8% false alarms, against 0.975 at 5.0%.

The same component computes the binary emergency score of emergency.py on the same
tf-idf vectors (one transform per message, not two) and adds it to every answer as
``emergency_score``. Before they shared it, the two regressions were separate
components that each fitted, stored and computed the same views: about 5 MB of the
model and 2 ms of every parse twice.

The fitted models are stored as JSON (vocabularies, classes) with their coefficients in a
NumPy file (storage.py); no pickle.
Used from config.yml as ``nlu_pipeline.blend.IntentBlender``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression

from nlu_pipeline.emergency import DEFAULT_PREFIX, OUTPUT, EmergencyRegression
from nlu_pipeline.storage import labelled_examples, read_model, write_model
from nlu_pipeline.tfidf import TfidfViews

MODEL_FILE = "linear_models"  # .json and .npz (storage.py)
CONFIDENCE = PREDICTED_CONFIDENCE_KEY


class _Regression:
    """The fitted multi-class regression over tf-idf features: class names, weights."""

    def __init__(self, classes: list[str], coef: ArrayLike, intercept: ArrayLike):
        self.classes = classes
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        # Features x intents, contiguous: sparse @ coef.T would copy the whole transposed
        # matrix (13 MB) on every call, 10 ms of each parse.
        self._weights = np.ascontiguousarray(self.coef.T)
        if self.coef.shape[0] != len(classes) or self.intercept.shape != (len(classes),):
            raise ValueError("one row of weights and one intercept per intent expected")

    @classmethod
    def fit(cls, features: sp.csr_matrix, labels: list[str], c: float, tol: float) -> _Regression:
        if len(set(labels)) < 3:
            raise ValueError("IntentBlender needs examples of at least three intents")
        # saga stops within seconds where lbfgs takes a minute on these ~65,000 sparse
        # features, for the same cross-validated accuracy (macro-F1 0.812 against 0.813).
        # Balanced class weights keep the small intents (greet, goodbye) from being
        # swallowed by the large ones (5-fold CV macro-F1 0.836 against 0.833).
        classifier = LogisticRegression(
            C=c, solver="saga", tol=tol, max_iter=3000, class_weight="balanced", random_state=42
        )
        classifier.fit(features, np.asarray(labels))
        return cls(
            [str(name) for name in classifier.classes_],
            classifier.coef_,
            classifier.intercept_,
        )

    def probabilities(self, features: sp.csr_matrix) -> list[dict[str, float]]:
        """Softmax over the classes, as LogisticRegression.predict_proba gives it."""
        logits = np.asarray(features @ self._weights) + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        probs = exp / exp.sum(axis=1, keepdims=True)
        return [dict(zip(self.classes, map(float, row), strict=True)) for row in probs]

    def to_json(self) -> dict[str, Any]:
        return {
            "classes": self.classes,
            "coef": self.coef,
            "intercept": self.intercept,
        }


class LinearModels:
    """The tf-idf views and the regressions fitted on them: intents, and emergency or not."""

    def __init__(
        self,
        views: TfidfViews,
        intents: _Regression,
        emergency: EmergencyRegression | None = None,
    ):
        self.views = views
        self.intents = intents
        self.emergency = emergency

    @classmethod
    def fit(
        cls,
        texts: list[str],
        labels: list[str],
        c: float = 30.0,
        tol: float = 0.001,
        emergency_prefix: str | None = DEFAULT_PREFIX,
    ) -> LinearModels:
        """Both regressions on one fit of the views (``emergency_prefix`` None: intents only)."""
        views, features = TfidfViews.fit(texts)
        intents = _Regression.fit(features, labels, c, tol)
        emergency = (
            None
            if emergency_prefix is None
            else EmergencyRegression.fit(features, labels, prefix=emergency_prefix)
        )
        return cls(views, intents, emergency)

    def predict(self, texts: list[str]) -> tuple[list[dict[str, float]], list[float] | None]:
        """Per text: the intent probabilities, and the emergency score (None: not fitted)."""
        features = self.views.transform(texts)
        scores = None if self.emergency is None else self.emergency.score(features)
        return self.intents.probabilities(features), scores

    def to_json(self) -> dict[str, Any]:
        return {
            "views": self.views.to_json(),
            "intents": self.intents.to_json(),
            "emergency": None if self.emergency is None else self.emergency.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinearModels:
        emergency = data.get("emergency")
        return cls(
            TfidfViews.from_json(data["views"]),
            _Regression(**data["intents"]),
            None if emergency is None else EmergencyRegression(**emergency),
        )


def blend(
    ranking: list[dict[str, Any]], regression: dict[str, float], weight: float
) -> dict[str, float]:
    """``(1 - weight) * ranking + weight * regression`` for every intent in either."""
    first = {
        str(item[INTENT_NAME_KEY]): float(item[CONFIDENCE])
        for item in ranking
        if isinstance(item, dict) and INTENT_NAME_KEY in item and CONFIDENCE in item
    }
    names = set(first) | set(regression)
    return {
        name: (1.0 - weight) * first.get(name, 0.0) + weight * regression.get(name, 0.0)
        for name in names
    }


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class IntentBlender(GraphComponent):
    """Blends DIET's ranking with a regression's, and adds the emergency score."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # C=30 was the best of 10, 30 and 100 in 5-fold CV (macro-F1 0.809, 0.813, 0.813).
        # emergency_score false: no emergency model, no `emergency_score` in the answers.
        return {
            "weight": 0.5,
            "C": 30.0,
            "tol": 0.001,
            "ranking_length": 10,
            "emergency_score": True,
            "emergency_prefix": DEFAULT_PREFIX,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        models: LinearModels | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        if not 0.0 <= float(self.config["weight"]) <= 1.0:
            raise ValueError("IntentBlender weight must be between 0 and 1")
        self._model_storage = model_storage
        self._resource = resource
        self._models = models

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IntentBlender:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        texts, intents = labelled_examples(training_data)
        self._models = LinearModels.fit(
            texts,
            intents,
            float(self.config["C"]),
            float(self.config["tol"]),
            str(self.config["emergency_prefix"]) if self.config["emergency_score"] else None,
        )
        write_model(self._model_storage, self._resource, MODEL_FILE, self._models.to_json())
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> IntentBlender:
        data = read_model(model_storage, resource, MODEL_FILE)
        return cls(config, model_storage, resource, LinearModels.from_json(data))

    def process(self, messages: list[Message]) -> list[Message]:
        if self._models is None:
            return messages
        weight = float(self.config["weight"])
        texts = [str(m.get(TEXT) or "") for m in messages]
        probabilities, scores = self._models.predict(texts)
        for index, (message, regression) in enumerate(zip(messages, probabilities, strict=True)):
            if scores is not None:
                message.set(OUTPUT, round(scores[index], 6), add_to_output=True)
            ranking = message.get(INTENT_RANKING_KEY) or []
            if not ranking:
                continue  # DIET found no features (no words): nothing to blend, as DIET left it
            blended = sorted(blend(ranking, regression, weight).items(), key=lambda p: -p[1])
            top = blended[: int(self.config["ranking_length"])]
            message.set(
                INTENT, {INTENT_NAME_KEY: top[0][0], CONFIDENCE: top[0][1]}, add_to_output=True
            )
            message.set(
                INTENT_RANKING_KEY,
                [{INTENT_NAME_KEY: name, CONFIDENCE: conf} for name, conf in top],
                add_to_output=True,
            )
        return messages
