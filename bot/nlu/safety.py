"""A safety net after the trained classifier: acute danger must never be missed.

Why: DIET is a statistical model. A teacher in a hurry may write "hij zit onder het bloed en durft niet
naar huis" in a way the model has never seen and classify it as a progress report or as out of scope.
For this one route a false alarm costs a sentence ("Bij acuut gevaar: bel 112 ...") and a miss can
cost a child, so the trained prediction is backed by the reviewed list of danger terms in
``knowledge/situations.yml`` (``acute_danger.danger_terms``). When a term occurs, the message is routed to
``acute_danger``; the model's own ranking is kept for the logs.

The other special situations (honour-based violence, forced marriage, FGM) are time-critical too, but
their words also occur in ordinary questions, so their ``signal_terms`` only decide when the classifier
is unsure (the FallbackClassifier before this component answered ``nlu_fallback``).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, Iterable, List, Optional, Pattern, Sequence, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

ACUTE_INTENT = "acute_danger"
FALLBACK_INTENT = "nlu_fallback"
# Intents that already lead to an urgent route; the net does not overrule them.
URGENT_INTENTS = frozenset({ACUTE_INTENT, "honour_based", "staff_suspect"})


def normalise(text: str) -> str:
    """Lower-case, strip diacritics and collapse whitespace, so 'Bloedt' and 'bloedt ' match alike."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", plain).strip()


def compile_terms(terms: Iterable[str]) -> Optional[Pattern[str]]:
    """One regex for all terms, matched on word boundaries (so 'mes' does not fire on 'mesjes')."""
    parts = sorted({re.escape(normalise(t)) for t in terms if t.strip()}, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(parts) + r")\b") if parts else None


def find_danger(text: str, pattern: Optional[Pattern[str]]) -> Optional[str]:
    """The first danger term in ``text``, or None."""
    if pattern is None:
        return None
    match = pattern.search(normalise(text))
    return match.group(1) if match else None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class AcuteDangerGuard(GraphComponent, IntentClassifier):
    """Routes a message to ``acute_danger`` when it contains a reviewed danger term, and an unsure
    prediction to the special situation whose signal term it contains."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(self, pattern: Optional[Pattern[str]],
                 signals: Sequence[Tuple[str, Optional[Pattern[str]]]] = ()) -> None:
        self._pattern = pattern
        self._signals = tuple(signals)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "AcuteDangerGuard":
        from bot.steps import danger_terms, signal_terms  # the terms are knowledge, reviewed like the protocol

        signals = [(situation, compile_terms(terms)) for situation, terms in signal_terms().items()]
        return cls(compile_terms(danger_terms()), signals)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._guard(message)
        return messages

    def _guard(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        predicted = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if predicted in URGENT_INTENTS:
            return
        term = find_danger(text, self._pattern)
        if term is not None:
            _route(message, ACUTE_INTENT, term, predicted)
            return
        if predicted != FALLBACK_INTENT:
            return
        for situation, pattern in self._signals:
            term = find_danger(text, pattern)
            if term is not None:
                _route(message, situation, term, predicted)
                return


def _route(message: Message, intent: str, term: str, overruled: Optional[str]) -> None:
    """Set the routed intent first in the ranking; keep the model's ranking and say why, for the logs."""
    routed = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
    message.set(INTENT, routed, add_to_output=True)
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != intent]
    message.set(INTENT_RANKING_KEY, [routed, *ranking], add_to_output=True)
    message.set("safety_net", {"term": term, "overruled": overruled}, add_to_output=True)
