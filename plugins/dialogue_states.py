"""Dialogue states and applied events computed once per event, not once per event per prediction.

Why: every policy asks for the states of the whole conversation before every action it predicts
(``Domain.states_for_tracker_history``). Rasa 3.6 builds them by replaying every event of the session
on a fresh tracker each time, so a turn costs more the longer the conversation runs: in a profile of
a conversation of a few hundred turns this replay was 29% of the Rasa server's time, and a message at
turn 60 took a third longer than the same message at turn 5 (docs/PERFORMANCE.md).

The states are a left fold over the applied events: the state before an action depends only on the
events before it. So the fold is kept per conversation — the running tracker, the states so far and
the two values the fold carries — and continued from where it stopped when the next call's applied
events begin with exactly the same event objects. Anything else (a reverted utterance, a restarted
session, a tracker loaded again from the database, another replica) replays from the start as Rasa
does. Callers change the states they get (``TrackerFeaturizer._choose_last_user_input`` deletes keys
of a sub-state), so each call gets its own copy of every state and sub-state.

The loop body is Rasa's (``Domain.states_for_tracker_history`` of 3.6.21); ``plugins.server`` installs
this only on that release and that exact source, and ``tests/test_dialogue_states.py`` compares it with
Rasa's own on every tracker of the training stories and on long conversations with reverts and forms.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

# Conversations whose fold is kept per process (the most recently predicted).
RECENT_CONVERSATIONS = 500


@dataclass
class Fold:
    """Where the replay of one conversation stopped: after ``events`` (the applied events, by identity)."""

    events: List[Any]
    tracker: Any  # the running DialogueStateTracker after ``events``
    states: List[Dict[str, Any]] = field(default_factory=list)
    last_ml_action_sub_state: Optional[Dict[str, Any]] = None
    turn_was_hidden: bool = False


_FOLDS: OrderedDict[Tuple[Any, ...], Fold] = OrderedDict()
_LOCK = threading.Lock()


def _step(domain: Any, fold: Fold, hide_rule_turn: bool, options: Tuple[bool, bool, Any]) -> Tuple[Any, ...]:
    """One pass of Rasa's loop body for the tracker as it is now: (state or None, last ML action, hidden).

    Nothing in ``fold`` changes here, so the state at the end of a conversation can be computed
    without committing it."""
    from rasa.shared.core.constants import PREVIOUS_ACTION

    omit_unset_slots, ignore_rule_only_turns, rule_only_data = options
    tr = fold.tracker
    last_ml, hidden = fold.last_ml_action_sub_state, fold.turn_was_hidden
    if ignore_rule_only_turns:
        if not hidden:
            last_ml = domain._get_prev_action_sub_state(tr)
        if not tr.followup_action and tr.latest_action_name != tr.active_loop_name:
            hidden = hide_rule_turn
        if hidden:
            return None, last_ml, hidden
    state = domain.get_active_state(tr, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, rule_only_data)
        if fold.states:
            domain._substitute_rule_only_user_input(state, fold.states[-1])
        if last_ml:
            state[PREVIOUS_ACTION] = last_ml
    return domain._clean_state(state), last_ml, hidden


def _advance(domain: Any, fold: Fold, events: List[Any], options: Tuple[bool, bool, Any]) -> None:
    """Continue the fold over ``events`` (applied events after the ones it has seen)."""
    from rasa.shared.core.events import ActionExecuted

    for event in events:
        if isinstance(event, ActionExecuted):
            state, fold.last_ml_action_sub_state, fold.turn_was_hidden = _step(
                domain, fold, event.hide_rule_turn, options
            )
            if state is not None:
                fold.states.append(state)
        fold.tracker.update(event)
        fold.events.append(event)


def _continues(fold: Fold, applied: List[Any]) -> bool:
    """Whether ``applied`` starts with exactly the event objects the fold has seen."""
    seen = fold.events
    return len(applied) >= len(seen) and all(a is b for a, b in zip(applied, seen))


def _copy(state: Dict[str, Any]) -> Dict[str, Any]:
    return {kind: dict(sub) if isinstance(sub, dict) else sub for kind, sub in state.items()}


def states_for_tracker_history(
    self: Any,
    tracker: Any,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: Optional[Dict[str, Any]] = None,
) -> List[Dict[str, Any]]:
    """Rasa's ``Domain.states_for_tracker_history`` (same arguments, same states), continued from the
    last call for this conversation when its events only grew."""
    options = (omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    key = (id(self), tracker.sender_id, omit_unset_slots, ignore_rule_only_turns, repr(rule_only_data))
    applied = tracker.applied_events()
    with _LOCK:
        fold = _FOLDS.pop(key, None)
        if fold is None or not _continues(fold, applied):
            fold = Fold(events=[], tracker=tracker.init_copy())
        _advance(self, fold, applied[len(fold.events) :], options)
        last, _, _ = _step(self, fold, False, options)
        _FOLDS[key] = fold
        while len(_FOLDS) > RECENT_CONVERSATIONS:
            _FOLDS.popitem(last=False)
        states = [_copy(s) for s in fold.states]
    if last is not None:
        states.append(_copy(last))  # it may share a sub-state with the kept ones
    return states


# --- the applied events, continued per tracker -------------------------------------------------------
# ``DialogueStateTracker.applied_events`` (the events without the reverted ones) is asked for by the
# states above, by the rule policy and by the processor, several times per message, and each time
# walks every event of the session. A tracker's event list only grows (``update`` appends; Rasa
# replaces the list instead of changing it), so the walk is continued from where it stopped, unless a
# new form name appears: Rasa treats a form's repeated executions by the names of *all* forms in the
# conversation, so a new one can change how earlier events count, and the walk starts over.

_APPLIED = "_meldwijzer_applied"


@dataclass
class Applied:
    """The walk over one tracker's events so far."""

    events: Any  # the tracker's event deque the walk read
    length: int
    last: Any  # the last event it read, to notice a deque that dropped its oldest events
    loop_names: FrozenSet[str]
    applied: List[Any]


def _walk(tracker: Any, events: Any, applied: List[Any], loop_names: FrozenSet[str]) -> None:
    """Rasa's loop of ``applied_events`` (3.6.21) over ``events``, continuing ``applied`` in place."""
    from rasa.shared.core.events import ActionExecuted, ActionReverted, Restarted, SessionStarted, UserUttered
    from rasa.shared.core.events import UserUtteranceReverted

    for event in events:
        if isinstance(event, (Restarted, SessionStarted)):
            applied.clear()
        elif isinstance(event, ActionReverted):
            tracker._undo_till_previous(ActionExecuted, applied)
        elif isinstance(event, UserUtteranceReverted):
            tracker._undo_till_previous(UserUttered, applied)
            tracker._undo_till_previous(ActionExecuted, applied)
        elif (
            isinstance(event, ActionExecuted)
            and event.action_name in loop_names
            and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
        ):
            tracker._undo_till_previous_loop_execution(event.action_name, applied)
        else:
            applied.append(event)


def _loop_names(events: Any) -> FrozenSet[str]:
    from rasa.shared.core.events import ActiveLoop

    return frozenset(e.name for e in events if isinstance(e, ActiveLoop) and e.name)


def applied_events(self: Any) -> List[Any]:
    """Rasa's ``DialogueStateTracker.applied_events`` (same list), continued from the last call."""
    from itertools import islice

    events = self.events
    length = len(events)
    done: Optional[Applied] = self.__dict__.get(_APPLIED)
    if (
        done is not None
        and done.events is events
        and done.length <= length
        and (done.length == 0 or events[done.length - 1] is done.last)
    ):
        new = list(islice(events, done.length, length))
        if _loop_names(new) <= done.loop_names:
            _walk(self, new, done.applied, done.loop_names)
            done.length, done.last = length, (events[-1] if length else None)
            return list(done.applied)
    loop_names = _loop_names(events)
    applied: List[Any] = []
    _walk(self, events, applied, loop_names)
    self.__dict__[_APPLIED] = Applied(events, length, events[-1] if length else None, loop_names, applied)
    return list(applied)


def forget() -> None:
    """Drop every kept fold (tests; a process that wants its memory back)."""
    with _LOCK:
        _FOLDS.clear()
