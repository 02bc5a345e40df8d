"""A second opinion on one question only: is this message an emergency?

DIET spreads its probability over 26 intents, and an emergency told as a grievance
("my left eye is shut since sir lost his temper") often gets most of it under
complaint_employer, with the rest split between two or three emergency intents. This
component is a binary logistic regression over tf-idf weighted word, normalised-form
and character n-grams (tfidf.py), trained on the same examples with one label: does
the example belong to an emergency intent. It is a different kind of model on a
different question, so its mistakes are not DIET's; the bot's safety layer averages the
two (bot/nlu/safety.py). In 5-fold cross-validation the safety layer with DIET's ranking
alone caught 95.4% of emergencies at 5.0% false alarms, with the average of the two 97.1%
at 4.4% (crisis lexicon included in both).

It adds ``emergency_score`` (0..1) to every /model/parse answer and sets no intent.
The fitted model is stored as JSON (vocabularies, idf weights, coefficients): no pickle
goes into the model file. Used from config.yml as ``nlu_pipeline.emergency.EmergencyScorer``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression

from nlu_pipeline.storage import labelled_examples, read_json, write_json
from nlu_pipeline.tfidf import TfidfViews

OUTPUT = "emergency_score"
MODEL_FILE = "emergency_scorer.json"


class _Scorer:
    """The fitted model: the tf-idf views (tfidf.py), then one weight vector."""

    def __init__(self, views: dict[str, Any], coef: list[float], intercept: float):
        self.views = TfidfViews.from_json(views)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = intercept

    @classmethod
    def fit(cls, texts: list[str], labels: list[bool], c: float, max_iter: int) -> _Scorer:
        views, features = TfidfViews.fit(texts)
        classifier = LogisticRegression(C=c, max_iter=max_iter, class_weight="balanced")
        classifier.fit(features, np.asarray(labels))
        return cls(views.to_json(), classifier.coef_[0].tolist(), float(classifier.intercept_[0]))

    def score(self, texts: list[str]) -> list[float]:
        logits = self.views.transform(texts) @ self.coef + self.intercept
        return [1.0 / (1.0 + math.exp(-float(z))) for z in logits]

    def to_json(self) -> dict[str, Any]:
        return {
            "views": self.views.to_json(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class EmergencyScorer(GraphComponent):
    """Adds ``emergency_score``: the probability that a message is an emergency."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # C=10 (little regularisation) was the best of 0.3, 1, 3 and 10 in 5-fold CV.
        return {"C": 10.0, "max_iter": 3000, "emergency_prefix": "emergency_"}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        scorer: _Scorer | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._scorer = scorer

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmergencyScorer:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        texts, intents = labelled_examples(training_data)
        labels = [intent.startswith(self.config["emergency_prefix"]) for intent in intents]
        if len(set(labels)) < 2:
            raise ValueError("EmergencyScorer needs emergency and non-emergency examples")
        self._scorer = _Scorer.fit(
            texts, labels, float(self.config["C"]), int(self.config["max_iter"])
        )
        write_json(self._model_storage, self._resource, MODEL_FILE, self._scorer.to_json())
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> EmergencyScorer:
        data = read_json(model_storage, resource, MODEL_FILE)
        return cls(config, model_storage, resource, _Scorer(**data))

    def process(self, messages: list[Message]) -> list[Message]:
        if self._scorer is None:
            return messages
        texts = [str(m.get(TEXT) or "") for m in messages]
        for message, value in zip(messages, self._scorer.score(texts), strict=True):
            message.set(OUTPUT, round(value, 6), add_to_output=True)
        return messages
