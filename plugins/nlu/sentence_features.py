"""Dense sentence features from the multilingual Universal Sentence Encoder, for DIET.

Why: the sparse features (lemma bag-of-words, char n-grams) only know the words of the training
phrasings. A sentence encoder trained on many languages places "krijgen ouders te horen dat wij
gemeld hebben" near "worden de ouders ingelicht over de melding" although they share almost no
words, so the classifiers generalise to how staff actually write. The encoder is the one the retrieval
index uses (``bot.retrieval.sentence_encoder``: pure numpy, weights inside the package, no network).

Only sentence-level features are added. Rasa keeps sequence and sentence features apart and DIET
combines them before its transformer, projecting to a common size when they differ
(``rasa.utils.tensorflow.rasa_layers.RasaSequenceLayer``), so a featurizer may give sentence features
alone; the token-level sequence features stay with the sparse featurizers (entities need nothing
more). One 512-dim vector per message costs about 5 ms.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.retrieval import SentenceEncoder, sentence_encoder

# Only the user's text: there are no response texts to classify (no ResponseSelector).
ATTRIBUTES = (TEXT,)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds one USE multilingual v3 sentence vector per message text."""

    @classmethod
    def required_components(cls) -> List[type]:
        return []

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config()}

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        """Nothing to validate: the component has no options of its own."""

    def __init__(self, config: Dict[Text, Any], name: Text, encoder: SentenceEncoder) -> None:
        super().__init__(name, config)
        self._encoder = encoder

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        return cls(config, execution_context.node_name, sentence_encoder())

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """All training texts in one batch. Their vectors go to the encoder's disk cache: the FAQ
        variants are also retrieval passages, so after training the index starts without encoding them."""
        self._featurize(training_data.training_examples, persist=True)
        self._encoder.forget()
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages, persist=False)  # a user's message is never written to disk
        self._encoder.forget()  # nor kept in memory after its turn
        return messages

    def _featurize(self, messages: List[Message], persist: bool) -> None:
        for attribute in ATTRIBUTES:
            todo = [m for m in messages if isinstance(m.get(attribute), str) and m.get(attribute).strip()]
            if not todo:
                continue
            vectors = self._encoder.encode([m.get(attribute) for m in todo], persist=persist)
            for message, vector in zip(todo, vectors):
                message.add_features(
                    Features(
                        np.asarray(vector[None, :], dtype=np.float32),
                        FEATURE_TYPE_SENTENCE,
                        attribute,
                        self._config[FEATURIZER_CLASS_ALIAS],
                    )
                )
