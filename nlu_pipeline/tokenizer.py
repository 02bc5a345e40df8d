"""A Rasa tokenizer that splits like WhitespaceTokenizer and gives each token a lemma.

Used from config.yml as ``nlu_pipeline.tokenizer.LemmaWhitespaceTokenizer``; the Rasa
virtualenv finds it because the project root is on PYTHONPATH (bot/nlu_model/rasa_env.py).
The lemma (see normalise.py) is what a CountVectorsFeaturizer with ``use_lemma: true``
counts; featurizers with ``use_lemma: false`` keep counting the words as written.
Only message text gets lemmas: intent names and other attributes are left alone.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu_pipeline.normalise import lemma


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class LemmaWhitespaceTokenizer(WhitespaceTokenizer):
    """WhitespaceTokenizer whose text tokens carry a normalised form as their lemma."""

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens = super().tokenize(message, attribute)
        if attribute == TEXT:
            for token in tokens:
                token.lemma = lemma(token.text)
        return tokens
