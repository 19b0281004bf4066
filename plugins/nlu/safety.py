"""The safety net around the trained models: acute danger must never be missed.

Why: DIET is a statistical model. A teacher in a hurry may write "hij zit onder het bloed en durft niet
naar huis" in a way the model has never seen and classify it as a progress report or as out of scope.
For the acute routes a false alarm costs a sentence ("Bij acuut gevaar: bel 112 ...") and a miss can
cost a child, so the trained prediction is backed by the reviewed danger terms in
``knowledge/situations.yml``: each acute route (suicide risk, recent sexual violence, acute danger) has
its own, and the specific routes are tried first, so 'zichzelf iets aandoen' reaches 113, not only 112.
The model's own ranking is kept for the logs.

The other special situations (honour-based violence, a suspected staff member) are time-critical too, but
their words also occur in ordinary questions, so their ``signal_terms`` and ``signal_pairs`` only decide
when the classifier is unsure (the FallbackClassifier before this component answered ``nlu_fallback``).
Last, an unsure *statement* with an abuse word ("ik zag brandwonden op de arm van een meisje") describes
a signal: it starts a case with the guidance of step 1, instead of a list of topics to choose from. A
question with the same words ("wat zijn signalen van mishandeling?") keeps the fallback's topics.

A message cannot see the conversation it is part of: "hij past vanavond weer op" is harmless alone and
acute after "haar oom zit aan haar". ``AcuteContextPolicy`` reads the tracker for that; the rule itself
is pure (``bot.steps.ContextRule``), the terms are knowledge.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Pattern, Sequence, Text, Tuple

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.conversation import is_question
from bot.knowledge import KnowledgeBase
from bot.steps import (
    ACUTE_DANGER,
    REQUIRED_SITUATIONS,
    ContextRule,
    PairPattern,
    Turn,
    abuse_terms,
    acute_routes,
    compile_terms,
    danger_pairs,
    find_term,
    normalise,
    signal_pairs,
    signal_terms,
)

__all__ = ["AcuteContextPolicy", "AcuteDangerGuard", "compile_terms", "find_danger", "normalise"]

FALLBACK_INTENT = "nlu_fallback"
SITUATION_ACTION = "action_situation"
START_CASE = "start_case"  # the worried first message: a case starts with the guidance of step 1
# Intents that already lead to an urgent route (with the acute routes); the net does not overrule them.
URGENT_SITUATIONS = frozenset({"honour_based", "staff_suspect"})
# Below this confidence a predicted intent counts as unsure: signal words may route it (like a fallback).
UNSURE_CONFIDENCE = 0.5

find_danger = find_term  # the name the guard's tests and logs use


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class AcuteDangerGuard(GraphComponent, IntentClassifier):
    """Routes a message to the acute route whose reviewed danger term it contains (specific routes
    first), and an unsure prediction to the special situation whose signal term or pair it contains."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(
        self,
        pattern: Optional[Pattern[str]],
        signals: Sequence[Tuple[str, Optional[Pattern[str]]]] = (),
        routes: Sequence[Tuple[str, Optional[Pattern[str]]]] = (),
        pairs: Sequence[Tuple[str, PairPattern]] = (),
        route_pairs: Sequence[Tuple[str, PairPattern]] = (),
        abuse: Optional[Pattern[str]] = None,
    ) -> None:
        """``pattern``: acute_danger's terms; ``routes``: the specific acute routes, tried before it;
        ``route_pairs``: word pairs of an acute route that count only together ('zojuist' + 'betast');
        ``abuse``: the abuse words that make an unsure statement the start of a case."""
        self._routes = (*routes, (ACUTE_DANGER, pattern))
        self._route_pairs = dict(route_pairs)
        self._signals = tuple(signals)
        self._pairs = tuple(pairs)
        self._abuse = abuse
        self._urgent = URGENT_SITUATIONS | {route for route, _ in self._routes}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AcuteDangerGuard:
        return cls.from_knowledge()

    @classmethod
    def from_knowledge(cls, kb: Optional[KnowledgeBase] = None) -> AcuteDangerGuard:
        """The guard with the reviewed terms of ``knowledge/situations.yml``."""
        routes = {route: compile_terms(terms) for route, terms in acute_routes(kb)}
        acute = routes.pop(ACUTE_DANGER)
        return cls(
            acute,
            [(situation, compile_terms(terms)) for situation, terms in signal_terms(kb).items()],
            list(routes.items()),
            [(situation, PairPattern.of(p)) for situation, p in signal_pairs(kb).items()],
            [(route, PairPattern.of(p)) for route, p in danger_pairs(kb).items()],
            compile_terms(abuse_terms(kb)),
        )

    def _backed(self, predicted: str, text: str) -> bool:
        """Whether an urgent prediction stands: an acute route always; a special situation only when its
        own signal words are in the message, or when it has none. Otherwise the acute danger words decide
        (a pupil threatened tonight that the classifier called honour-based goes to 112 / Veilig Thuis)."""
        signals = [pattern for situation, pattern in self._signals if situation == predicted and pattern]
        pairs = [pair for situation, pair in self._pairs if situation == predicted]
        if not signals and not pairs:
            return True
        return any(find_term(text, p) is not None for p in signals) or any(pair.find(text) for pair in pairs)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._guard(message)
        return messages

    def _guard(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        predicted = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if predicted in self._urgent and self._backed(predicted, text):
            return
        for route, pattern in self._routes:
            pair = self._route_pairs.get(route)
            term = find_term(text, pattern) or (pair.find(text) if pair else None)
            if term is not None:
                _route(message, route, term, predicted)
                return
        if predicted != FALLBACK_INTENT and not _unsure(message):
            return
        for situation, pattern in self._signals:
            term = find_term(text, pattern)
            if term is not None:
                _route(message, situation, term, predicted)
                return
        for situation, pair in self._pairs:
            term = pair.find(text)
            if term is not None:
                _route(message, situation, term, predicted)
                return
        term = find_term(text, self._abuse)
        if term is not None and not is_question(text):
            _route(message, START_CASE, term, predicted)


def _unsure(message: Message) -> bool:
    """A prediction the classifier barely chose (just above the fallback threshold): the reviewed signal
    words may then decide, as they do for a fallback."""
    return float((message.get(INTENT) or {}).get(PREDICTED_CONFIDENCE_KEY) or 0.0) < UNSURE_CONFIDENCE


def _route(message: Message, intent: str, term: str, overruled: Optional[str]) -> None:
    """Set the routed intent first in the ranking; keep the model's ranking and say why, for the logs."""
    routed = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
    message.set(INTENT, routed, add_to_output=True)
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != intent]
    message.set(INTENT_RANKING_KEY, [routed, *ranking], add_to_output=True)
    message.set("safety_net", {"term": term, "overruled": overruled}, add_to_output=True)


# --- across turns ---------------------------------------------------------------------------------

# Messages that signal abuse for the context rule: a worried first message and the special situations.
DEFAULT_ABUSE_INTENTS = (START_CASE, "progress_signals", *REQUIRED_SITUATIONS)


def conversation_turns(tracker: DialogueStateTracker) -> Tuple[List[Turn], Optional[Turn]]:
    """The user's turns since the session started: (earlier turns, the latest one if it still waits
    for an answer). Button payloads count by their intent; their text is not the user's words."""
    turns: List[Turn] = []
    answered = True
    for event in tracker.events:
        if isinstance(event, SessionStarted):
            turns, answered = [], True
        elif isinstance(event, UserUttered):
            text = event.text or ""
            turns.append(((event.intent or {}).get(INTENT_NAME_KEY) or "", "" if text.startswith("/") else text))
            answered = False
        elif isinstance(event, ActionExecuted) and event.action_name != ACTION_LISTEN_NAME:
            answered = True
    if answered or not turns:
        return turns, None
    return turns[:-1], turns[-1]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class AcuteContextPolicy(Policy):
    """Predicts the acute route when the latest message makes an earlier abuse signal acute.

    It answers only right after a user message that no rule for a special situation already routes;
    otherwise it abstains (all zeros), and it outranks the RulePolicy only through its priority (the
    config sets it above the rules), so 'acute' wins a tie with a rule that would ask for the role.
    After its own acute reply it lets an interrupted form ask its question again, or listens.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": 7, "abuse_intents": list(DEFAULT_ABUSE_INTENTS)}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
        rule: Optional[ContextRule] = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        from bot.steps import context_rule, situation_ids  # the terms are reviewed knowledge

        self._rule = rule or context_rule(config.get("abuse_intents", DEFAULT_ABUSE_INTENTS))
        self._situations = frozenset(situation_ids())

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        """Nothing to learn: the rule is reviewed knowledge, not statistics."""
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        result = self._default_predictions(domain)
        action = self._next_action(tracker)
        if action is not None and action in domain.action_names_or_texts:
            result[domain.index_for_action(action)] = 1.0
        return self._prediction(result)

    def _next_action(self, tracker: DialogueStateTracker) -> Optional[str]:
        earlier, latest = conversation_turns(tracker)
        if latest is not None:
            intent, text = latest
            if intent in self._situations or not text:
                return None
            return SITUATION_ACTION if self._rule.acute(text, earlier) else None
        if tracker.latest_action_name == SITUATION_ACTION and earlier and self._acute_turn(earlier):
            return tracker.active_loop_name or ACTION_LISTEN_NAME
        return None

    def _acute_turn(self, turns: Sequence[Turn]) -> bool:
        """Was the last user turn (now answered) one this policy routed?"""
        intent, text = turns[-1]
        return intent not in self._situations and bool(text) and self._rule.acute(text, turns[:-1]) is not None
