"""What the pipeline's trainable components share: their examples and their model files.

A component stores its fitted model as one JSON file in Rasa's model storage, with its
numeric arrays (coefficients, idf weights) beside it in a NumPy ``.npz`` file: as JSON
text the 2.5 million coefficients of the intent regression took 57 MB and seconds to
write, compress and read. Neither file is a pickle (arrays are read with
``allow_pickle=False``).
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.training_data import TrainingData

ARRAY_KEY = "__array__"


def labelled_examples(training_data: TrainingData) -> tuple[list[str], list[str]]:
    """The texts and intents of the examples that have both."""
    examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
    return [str(e.get(TEXT)) for e in examples], [str(e.get(INTENT)) for e in examples]


def split_arrays(data: Any, arrays: dict[str, np.ndarray] | None = None) -> tuple[Any, dict]:
    """``data`` with every NumPy array replaced by a reference, and the arrays by name."""
    arrays = {} if arrays is None else arrays
    if isinstance(data, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = data
        return {ARRAY_KEY: name}, arrays
    if isinstance(data, dict):
        return {k: split_arrays(v, arrays)[0] for k, v in data.items()}, arrays
    if isinstance(data, list):
        return [split_arrays(v, arrays)[0] for v in data], arrays
    return data, arrays


def join_arrays(data: Any, arrays: Any) -> Any:
    """The inverse of ``split_arrays``."""
    if isinstance(data, dict):
        if set(data) == {ARRAY_KEY}:
            return np.asarray(arrays[data[ARRAY_KEY]])
        return {k: join_arrays(v, arrays) for k, v in data.items()}
    if isinstance(data, list):
        return [join_arrays(v, arrays) for v in data]
    return data


def dump(data: dict[str, Any]) -> tuple[str, bytes]:
    """The JSON text and the ``.npz`` bytes of a model's data."""
    plain, arrays = split_arrays(data)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return json.dumps(plain), buffer.getvalue()


def load(text: str, npz: bytes) -> dict[str, Any]:
    with np.load(io.BytesIO(npz), allow_pickle=False) as arrays:
        data: dict[str, Any] = join_arrays(json.loads(text), arrays)
    return data


def write_model(
    model_storage: ModelStorage, resource: Resource, name: str, data: dict[str, Any]
) -> None:
    text, npz = dump(data)
    with model_storage.write_to(resource) as directory:
        (directory / f"{name}.json").write_text(text, "utf-8")
        (directory / f"{name}.npz").write_bytes(npz)


def read_model(model_storage: ModelStorage, resource: Resource, name: str) -> dict[str, Any]:
    with model_storage.read_from(resource) as directory:
        return load(
            (directory / f"{name}.json").read_text("utf-8"),
            (directory / f"{name}.npz").read_bytes(),
        )
