"""What the pipeline's trainable components share: their examples and their model files.

Each component (emergency.py, blend.py) stores its fitted model as one JSON file in
Rasa's model storage, so no pickle goes into the model.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.training_data import TrainingData


def labelled_examples(training_data: TrainingData) -> tuple[list[str], list[str]]:
    """The texts and intents of the examples that have both."""
    examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
    return [str(e.get(TEXT)) for e in examples], [str(e.get(INTENT)) for e in examples]


def write_json(
    model_storage: ModelStorage, resource: Resource, name: str, data: dict[str, Any]
) -> None:
    with model_storage.write_to(resource) as directory:
        (directory / name).write_text(json.dumps(data), "utf-8")


def read_json(model_storage: ModelStorage, resource: Resource, name: str) -> dict[str, Any]:
    with model_storage.read_from(resource) as directory:
        data: dict[str, Any] = json.loads((directory / name).read_text("utf-8"))
    return data
