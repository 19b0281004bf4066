"""Dialogue states and applied events continued per conversation (plugins/dialogue_states.py) are
exactly Rasa's own.

Compared with Rasa's ``Domain.states_for_tracker_history`` and ``DialogueStateTracker.applied_events``
on this project's domain: every tracker of
the training stories, grown one event at a time, and long random conversations with forms, reverted
utterances, reverted actions, hidden rule turns and new sessions; for the three ways the policies ask
(plain, without unset slots, without rule-only turns and features). A caller that changes the states it
got must not change what the next caller gets."""

from __future__ import annotations

import random
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
from rasa.shared.core.constants import ACTION_LISTEN_NAME, RULE_ONLY_LOOPS, RULE_ONLY_SLOTS, USER
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

from plugins import dialogue_states, server

REPO = Path(__file__).resolve().parents[1]


RASA_STATES = getattr(Domain.states_for_tracker_history, "__wrapped__", Domain.states_for_tracker_history)
RASA_APPLIED = getattr(DialogueStateTracker.applied_events, "__wrapped__", DialogueStateTracker.applied_events)


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(REPO / "domain.yml"))


@pytest.fixture(autouse=True)
def ours_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our applied events under our states, as in the Rasa server; Rasa's side swaps its own back in."""
    monkeypatch.setattr(DialogueStateTracker, "applied_events", dialogue_states.applied_events)


@contextmanager
def _rasa_alone() -> Iterator[None]:
    ours = DialogueStateTracker.applied_events
    DialogueStateTracker.applied_events = RASA_APPLIED  # type: ignore[method-assign]
    try:
        yield
    finally:
        DialogueStateTracker.applied_events = ours  # type: ignore[method-assign]


def _rasas(domain: Domain) -> Callable[..., List[Dict[str, Any]]]:
    def states(tracker: DialogueStateTracker, **kw: Any) -> List[Dict[str, Any]]:
        with _rasa_alone():
            return RASA_STATES(domain, tracker, **kw)

    return states


def _ours(domain: Domain) -> Callable[..., List[Dict[str, Any]]]:
    return lambda tracker, **kw: dialogue_states.states_for_tracker_history(domain, tracker, **kw)


def _ways(domain: Domain) -> List[Dict[str, Any]]:
    """The arguments the policies use: Memoization and RulePolicy plain, TED without rule-only turns."""
    rule_only = {
        RULE_ONLY_SLOTS: [s.name for s in domain.slots][:3],
        RULE_ONLY_LOOPS: list(domain.form_names)[:1],
    }
    return [
        {},
        {"omit_unset_slots": True},
        {"ignore_rule_only_turns": True, "rule_only_data": rule_only},
    ]


def _compare(domain: Domain, tracker: DialogueStateTracker) -> None:
    ours = tracker.applied_events()
    assert ours == RASA_APPLIED(tracker) and all(a is b for a, b in zip(ours, RASA_APPLIED(tracker)))
    for way in _ways(domain):
        assert _ours(domain)(tracker, **way) == _rasas(domain)(tracker, **way), way


def _story_trackers(domain: Domain) -> List[DialogueStateTracker]:
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.core.training_data.structures import StoryGraph

    steps = [
        step
        for path in sorted((REPO / "data" / "stories").glob("*.yml"))
        for step in YAMLStoryReader(domain).read_from_file(str(path))
    ]
    return TrainingDataGenerator(StoryGraph(steps), domain, augmentation_factor=0).generate()


def _grown(domain: Domain, sender: str, events: List[Event], check: Callable[[DialogueStateTracker], None]) -> None:
    """Add ``events`` one at a time to one tracker (as a conversation grows) and check after each action."""
    tracker = DialogueStateTracker.from_events(sender, [], slots=domain.slots)
    for event in events:
        tracker.update(event)
        if isinstance(event, (ActionExecuted, UserUtteranceReverted, ActionReverted)):
            check(tracker)


def _count_replays(monkeypatch: pytest.MonkeyPatch) -> List[int]:
    """How often a fold starts from nothing (a replay of the whole conversation)."""
    replays = [0]
    real = dialogue_states.Fold

    def counted(*args: Any, **kwargs: Any) -> dialogue_states.Fold:
        replays[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(dialogue_states, "Fold", counted)
    return replays


def test_every_story_tracker_grown_event_by_event_has_rasas_states(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialogue_states.forget()
    replays = _count_replays(monkeypatch)
    trackers = _story_trackers(domain)
    assert len(trackers) > 50
    for i, story in enumerate(trackers):
        _grown(domain, f"story-{i}", list(story.events), lambda t: _compare(domain, t))
    # Stories only grow: each is replayed once per way of asking, and continued after that; a few more
    # replays come where Rasa drops a form's earlier executions from the applied events.
    assert len(trackers) * len(_ways(domain)) <= replays[0] <= 1.1 * len(trackers) * len(_ways(domain))


def _random_conversation(domain: Domain, rng: random.Random, length: int) -> List[Event]:
    intents = sorted(domain.intents)
    actions = [a for a in domain.action_names_or_texts if a != ACTION_LISTEN_NAME]
    forms = sorted(domain.form_names)
    slots = [s for s in domain.slots if s.type_name in ("text", "bool", "categorical", "any")]
    events: List[Event] = [ActionExecuted(ACTION_LISTEN_NAME)]
    while len(events) < length:
        roll = rng.random()
        if roll < 0.05:
            events.append(UserUtteranceReverted())
        elif roll < 0.08:
            events.append(ActionReverted())
        elif roll < 0.09:
            events.extend([SessionStarted(), ActionExecuted(ACTION_LISTEN_NAME)])
        events.append(UserUttered(f"bericht {len(events)}", {"name": rng.choice(intents), "confidence": 0.9}))
        for _ in range(rng.randint(1, 3)):
            if forms and rng.random() < 0.15:
                form = rng.choice(forms)
                events.extend([ActionExecuted(form), ActiveLoop(form if rng.random() < 0.7 else None)])
            elif slots and rng.random() < 0.3:
                slot = rng.choice(slots)
                value = rng.choice(slot.values) if getattr(slot, "values", None) else f"waarde {len(events)}"
                events.append(SlotSet(slot.name, value))
            else:
                events.append(ActionExecuted(rng.choice(actions), hide_rule_turn=rng.random() < 0.3))
        events.append(ActionExecuted(ACTION_LISTEN_NAME))
    return events


@pytest.mark.parametrize("seed", range(6))
def test_long_random_conversations_with_forms_and_reverts_have_rasas_states(
    domain: Domain, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialogue_states.forget()
    replays = _count_replays(monkeypatch)
    events = _random_conversation(domain, random.Random(seed), 400)
    undoing = sum(1 for e in events if isinstance(e, (UserUtteranceReverted, ActionReverted, SessionStarted)))
    assert undoing > 0
    _grown(domain, f"random-{seed}", events, lambda t: _compare(domain, t))
    # Continued except after an event that undoes or restarts (and the form loops Rasa unwinds).
    checks = sum(1 for e in events if isinstance(e, (ActionExecuted, UserUtteranceReverted, ActionReverted)))
    assert replays[0] < checks * len(_ways(domain)) / 3


def test_changing_the_states_one_got_does_not_change_the_next_callers(domain: Domain) -> None:
    dialogue_states.forget()
    events = _random_conversation(domain, random.Random(99), 120)
    tracker = DialogueStateTracker.from_events("mutating", events, slots=domain.slots)
    for way in _ways(domain):
        first = _ours(domain)(tracker, **way)
        for state in first:  # what TrackerFeaturizer._choose_last_user_input and friends do
            state.get(USER, {}).pop("intent", None)
            state.pop("slots", None)
        assert _ours(domain)(tracker, **way) == _rasas(domain)(tracker, **way)


def test_a_branch_and_its_original_each_get_their_own_states(domain: Domain) -> None:
    """The processor predicts on copies; a copy that goes another way must not leak into the original."""
    dialogue_states.forget()
    rng = random.Random(7)
    base = DialogueStateTracker.from_events("branch", _random_conversation(domain, rng, 80), slots=domain.slots)
    branch = base.copy()
    _compare(domain, base)
    for event in _random_conversation(domain, rng, 20)[1:]:
        branch.update(event)
    _compare(domain, branch)
    for event in _random_conversation(domain, rng, 20)[1:]:
        base.update(event)
    _compare(domain, base)
    _compare(domain, branch)


def test_the_kept_conversations_are_bounded(domain: Domain, monkeypatch: pytest.MonkeyPatch) -> None:
    dialogue_states.forget()
    monkeypatch.setattr(dialogue_states, "RECENT_CONVERSATIONS", 3)
    for i in range(10):
        _ours(domain)(DialogueStateTracker.from_events(f"u{i}", [ActionExecuted(ACTION_LISTEN_NAME)]))
    assert len(dialogue_states._FOLDS) == 3


def test_a_form_named_late_makes_the_applied_events_start_over(domain: Domain) -> None:
    """Rasa drops a form's repeated executions by the names of all forms in the conversation, so a
    form activated for the first time late changes how its earlier executions count."""
    form = sorted(domain.form_names)[0]
    tracker = DialogueStateTracker.from_events("late-form", [ActionExecuted(ACTION_LISTEN_NAME)], slots=domain.slots)
    for event in [UserUttered("a", {"name": "greet"}), ActionExecuted(form), ActionExecuted(form)]:
        tracker.update(event)
        _compare(domain, tracker)
    tracker.update(ActiveLoop(form))
    _compare(domain, tracker)
    assert len(tracker.applied_events()) == len(RASA_APPLIED(tracker)) < len(tracker.events)


def test_the_pinned_fingerprints_are_the_installed_rasas() -> None:
    with _rasa_alone():
        assert server.original_states_sha256() == server.PATCHED_STATES_SHA256
        assert server.original_applied_sha256() == server.PATCHED_APPLIED_SHA256


def test_install_replaces_both_once_and_refuses_a_changed_method(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Domain, "states_for_tracker_history", RASA_STATES)
    monkeypatch.setattr(DialogueStateTracker, "applied_events", RASA_APPLIED)
    server.install()
    assert Domain.states_for_tracker_history is dialogue_states.states_for_tracker_history
    assert DialogueStateTracker.applied_events is dialogue_states.applied_events
    server.install()
    assert Domain.states_for_tracker_history.__wrapped__ is RASA_STATES  # type: ignore[attr-defined]
    assert DialogueStateTracker.applied_events.__wrapped__ is RASA_APPLIED  # type: ignore[attr-defined]
    changed: Callable[..., Optional[Tuple[()]]] = lambda self, *args, **kw: None  # noqa: E731
    monkeypatch.setattr(DialogueStateTracker, "applied_events", changed)
    with pytest.raises(RuntimeError, match="applied_events"):
        server.install()
    monkeypatch.setattr(Domain, "states_for_tracker_history", changed)
    with pytest.raises(RuntimeError, match="states_for_tracker_history"):
        server.install()
