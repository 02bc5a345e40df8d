"""Checks of nlu_pipeline/tfidf.py, blend.py and emergency.py, run with Rasa's Python (.venv-rasa).

The bot's virtualenv has neither Rasa nor scikit-learn, so tests/test_nlu_pipeline.py
runs this script there; it exits non-zero on the first failed check and prints "ok".
"""

from __future__ import annotations

import sys
import zipfile
from io import BytesIO

import numpy as np
from rasa.shared.nlu.training_data.message import Message

from nlu_pipeline.blend import IntentBlender, LinearModels, _Regression, blend
from nlu_pipeline.emergency import EmergencyRegression
from nlu_pipeline.storage import dump, load
from nlu_pipeline.tfidf import TfidfViews

TEXTS = {
    "emergency_violence": ["sy dipukul majikan", "madam pukul kepala sy", "sir hit me again"],
    "rights_wages": ["gaji minimum brp", "berapa gaji pokok di hk", "minimum wage how much"],
    "greet": ["halo mbak", "hai kak", "hello good morning"],
}


def _examples() -> tuple[list[str], list[str]]:
    """The texts of TEXTS and their intents, in one order."""
    texts = [t for group in TEXTS.values() for t in group]
    labels = [intent for intent, group in TEXTS.items() for _ in group]
    return texts, labels


def check_views() -> None:
    texts, _ = _examples()
    views, fitted = TfidfViews.fit(texts)
    # Transforming the training texts again gives exactly what fitting gave.
    assert np.allclose(views.transform(texts).toarray(), fitted.toarray())
    # and so does a model restored from its JSON.
    restored = TfidfViews.from_json(load(*dump(views.to_json())))
    assert np.allclose(restored.transform(texts).toarray(), fitted.toarray())
    # Each of the three views is scaled to unit length.
    row = restored.transform(["sy dipukul"]).toarray()[0]
    assert np.isclose(float(row @ row), 3.0), row @ row
    # Unknown words give an empty vector, not an error.
    assert restored.transform(["zzzz"]).nnz <= 3 * 2


def check_regression() -> None:
    texts, labels = _examples()
    views, features = TfidfViews.fit(texts)
    model = _Regression.fit(features, labels, c=30.0, tol=1e-4)
    probs = model.probabilities(features)
    assert all(abs(sum(p.values()) - 1.0) < 1e-9 for p in probs)
    assert [max(p, key=p.__getitem__) for p in probs] == labels
    restored = _Regression(**load(*dump(model.to_json())))
    again = restored.probabilities(views.transform(["nyonya pukul sy", "gaji sy brp"]))
    assert max(again[0], key=again[0].__getitem__) == "emergency_violence", again[0]
    assert max(again[1], key=again[1].__getitem__) == "rights_wages", again[1]


def check_blend() -> None:
    ranking = [{"name": "a", "confidence": 0.8}, {"name": "b", "confidence": 0.2}]
    got = blend(ranking, {"a": 0.1, "b": 0.3, "c": 0.6}, 0.5)
    assert got.keys() == {"a", "b", "c"}
    assert np.allclose([got["a"], got["b"], got["c"]], [0.45, 0.25, 0.3]), got
    assert blend(ranking, {"a": 0.1, "c": 0.9}, 0.0) == {"a": 0.8, "b": 0.2, "c": 0.0}


def check_process() -> None:
    texts, labels = _examples()
    model = LinearModels.fit(texts, labels, c=30.0, tol=1e-4)
    blender = IntentBlender({"weight": 0.5, "ranking_length": 2}, None, None, model)  # type: ignore[arg-type]
    # DIET was sure it is a greeting; the regression is sure it is violence.
    diet = [{"name": "greet", "confidence": 0.9}, {"name": "rights_wages", "confidence": 0.1}]
    message = Message(data={"text": "madam pukul kepala sy", "intent_ranking": diet})
    unranked = Message(data={"text": "   "})
    blender.process([message, unranked])
    ranking = message.get("intent_ranking")
    assert len(ranking) == 2, ranking
    assert message.get("intent")["name"] == ranking[0]["name"]
    regression = model.predict(["madam pukul kepala sy"])[0][0]
    expected = 0.5 * regression["emergency_violence"]
    conf = {r["name"]: r["confidence"] for r in ranking}
    assert "emergency_violence" in conf and np.isclose(conf["emergency_violence"], expected)
    assert np.isclose(
        conf.get("greet", 0.5 * 0.9 + 0.5 * regression["greet"]),
        0.5 * 0.9 + 0.5 * regression["greet"],
    )
    # Without DIET's ranking (no words) the message is left as DIET left it, but it has
    # an emergency score like every other message.
    assert unranked.get("intent") is None and unranked.get("intent_ranking") is None
    assert 0.0 <= unranked.get("emergency_score") <= 1.0
    assert message.get("emergency_score") > unranked.get("emergency_score")
    # Without the emergency model there is no score.
    quiet = IntentBlender(
        {"weight": 0.5},
        None,
        None,
        LinearModels.fit(texts, labels, emergency_prefix=None),  # type: ignore[arg-type]
    )
    plain = Message(data={"text": "sir hit me again", "intent_ranking": diet})
    quiet.process([plain])
    assert plain.get("emergency_score") is None and plain.get("intent_ranking")
    try:
        IntentBlender({"weight": 1.5}, None, None)  # type: ignore[arg-type]
    except ValueError:
        pass
    else:
        raise AssertionError("a weight above 1 was accepted")


def check_emergency() -> None:
    texts, labels = _examples()
    models = LinearModels.fit(texts, labels)
    # Both regressions read one transform of the views: the scores are those of the
    # binary model on exactly the features the intent model sees.
    features = models.views.transform(["nyonya pukul sy", "gaji sy brp"])
    _, scores = models.predict(["nyonya pukul sy", "gaji sy brp"])
    assert models.emergency is not None and scores is not None
    assert scores == models.emergency.score(features)
    assert scores[0] > 0.5 > scores[1], scores
    restored = LinearModels.from_json(load(*dump(models.to_json())))
    assert restored.predict(["nyonya pukul sy"])[1] == scores[:1]
    alone = EmergencyRegression.fit(models.views.transform(texts), labels)
    assert np.allclose(alone.coef, models.emergency.coef)
    try:
        EmergencyRegression.fit(models.views.transform(texts[3:]), labels[3:])
    except ValueError:
        pass
    else:
        raise AssertionError("a model without emergency examples was fitted")


def check_storage() -> None:
    texts, labels = _examples()
    models = LinearModels.fit(texts, labels)
    text, npz = dump(models.to_json())
    # The coefficients and idf weights go to the NumPy file, bit for bit, and only plain
    # numeric arrays go there (nothing that would need a pickle to read).
    assert "coef" in text and len(text) < 0.5 * len(npz), (len(text), len(npz))
    with zipfile.ZipFile(BytesIO(npz)) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    data = load(text, npz)
    assert np.array_equal(data["intents"]["coef"], models.intents.coef)
    assert data["intents"]["coef"].dtype == np.float64
    assert np.array_equal(data["views"]["idf"][2], models.views.to_json()["idf"][2])
    assert data["intents"]["classes"] == models.intents.classes
    assert data["emergency"]["intercept"] == models.emergency.intercept  # type: ignore[union-attr]


def main() -> int:
    for check in (
        check_views,
        check_regression,
        check_blend,
        check_process,
        check_emergency,
        check_storage,
    ):
        check()
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
