"""The tf-idf features of the pipeline's linear models (emergency.py, blend.py).

Three views of a message, each tf-idf weighted (sublinear term frequency) and scaled to
unit length: the words as written, their normalised forms (normalise.py: "gk" and
"nggak" are both "tidak", "dipukul" is "pukul"), and character n-grams within words
(misspellings, abbreviations). The fitted vocabularies and idf weights are stored as
JSON and NumPy arrays in the model (storage.py), so no pickle goes into it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from nlu_pipeline.normalise import lemma

# (name, analyzer, n-gram range)
VIEWS: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("words", "word", (1, 2)),
    ("forms", "word", (1, 2)),
    ("chars", "char_wb", (2, 4)),
)


def _view_texts(name: str, texts: list[str]) -> list[str]:
    if name == "forms":
        return [" ".join(lemma(w) for w in t.split()) for t in texts]
    return texts


def _vectorizer_args(analyzer: str, ngrams: tuple[int, int]) -> dict[str, Any]:
    args: dict[str, Any] = {"analyzer": analyzer, "ngram_range": ngrams, "lowercase": True}
    if analyzer == "word":
        args["token_pattern"] = r"\S+"
    return args


class TfidfViews:
    """Fitted vocabularies and idf weights of the three views."""

    def __init__(self, vocabularies: list[dict[str, int]], idf: list[ArrayLike]):
        if len(vocabularies) != len(VIEWS) or len(idf) != len(VIEWS):
            raise ValueError(f"expected {len(VIEWS)} views")
        self._vocabularies = vocabularies
        self._counters = [
            CountVectorizer(vocabulary=vocabulary, **_vectorizer_args(analyzer, ngrams))
            for vocabulary, (_, analyzer, ngrams) in zip(vocabularies, VIEWS, strict=True)
        ]
        self._idf = [np.asarray(weights, dtype=np.float64) for weights in idf]

    @classmethod
    def fit(cls, texts: list[str]) -> tuple[TfidfViews, sp.csr_matrix]:
        """The fitted views and the training texts' features."""
        blocks, vocabularies, idf = [], [], []
        for name, analyzer, ngrams in VIEWS:
            vectorizer = TfidfVectorizer(sublinear_tf=True, **_vectorizer_args(analyzer, ngrams))
            blocks.append(vectorizer.fit_transform(_view_texts(name, texts)))
            vocabularies.append({t: int(i) for t, i in vectorizer.vocabulary_.items()})
            idf.append(vectorizer.idf_)
        return cls(vocabularies, idf), sp.hstack(blocks).tocsr()

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        """The same vectors the fitted TfidfVectorizers give."""
        blocks = []
        for (name, _, _), counter, idf in zip(VIEWS, self._counters, self._idf, strict=True):
            counts = counter.transform(_view_texts(name, texts)).astype(np.float64).tocsr()
            counts.data = 1.0 + np.log(counts.data)
            blocks.append(normalize(counts.multiply(idf).tocsr()))
        return sp.hstack(blocks).tocsr()

    def to_json(self) -> dict[str, Any]:
        return {"vocabularies": self._vocabularies, "idf": list(self._idf)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TfidfViews:
        return cls(data["vocabularies"], data["idf"])
