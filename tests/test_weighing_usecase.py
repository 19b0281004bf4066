"""The weighing's use cases on a real (SQLite) case store: what one answer and the help plan record on
the case, besides the answer itself (bot/weighing_usecase.py)."""

from __future__ import annotations

from datetime import date

import pytest

from bot import weighing as w
from bot import weighing_usecase
from bot.profiles import profile
from bot.store.repositories import Repositories

TODAY = date(2026, 11, 2)  # a Monday, no holiday near: werkdagen count plainly
USER = "rest:test:ib"


@pytest.fixture
def org():
    return profile("national")


def weigh(repos: Repositories, org, answers, case=None):
    """Answer the questions in order as the teacher would; returns the case and the final state."""
    attached = weighing_usecase.attach_case(repos, case, USER, org.id, "intern_begeleider")
    state = w.WeighingState()
    for n, reply in answers:
        state = weighing_usecase.answer_question(repos, attached.case, state, n, reply, org, TODAY)
    return repos.cases.get(attached.case.id, USER, None), state


def test_a_weighing_without_a_case_opens_one_at_step_4_and_reuses_an_open_one(repos: Repositories, org) -> None:
    first = weighing_usecase.attach_case(repos, None, USER, org.id, None)
    assert first.opened and first.case.step == 4
    again = weighing_usecase.attach_case(repos, first.case, USER, org.id, None)
    assert not again.opened and again.case.id == first.case.id


def test_each_answer_is_stored_and_replays_to_the_same_state(repos: Repositories, org) -> None:
    case, state = weigh(repos, org, [(1, "ja"), (2, "nee"), (3, "nee")])
    assert weighing_usecase.load(repos, case) == state
    assert [(a.question, a.answer) for a in repos.weighing.trace(case.id)] == [(1, "ja"), (2, "nee"), (3, "nee")]


def test_question_1_ja_marks_the_school_leader_informed_and_a_melding_outcome_the_weighing_made(
    repos: Repositories, org
) -> None:
    case, _ = weigh(repos, org, [(1, "ja"), (2, "ja")])  # acute or structural: melden
    assert {w.LEADER_MILESTONE, w.DONE_MILESTONE} <= set(case.done)
    assert [f.kind for f in weighing_usecase.open_followups(repos, case, TODAY)] == ["vt_feedback"]
    feedback = weighing_usecase.open_followups(repos, case, TODAY)[0]
    assert feedback.due_on == date(2026, 11, 9)  # 5 werkdagen


def test_doubt_at_question_1_is_no_weighing_made_and_a_new_weighing_settles_weigh_again(
    repos: Repositories, org
) -> None:
    case, _ = weigh(repos, org, [(1, "twijfel")])
    assert w.DONE_MILESTONE not in case.done and w.LEADER_MILESTONE not in case.done
    assert [f.kind for f in weighing_usecase.open_followups(repos, case, TODAY)] == ["weigh_again"]
    case, _ = weigh(repos, org, [(1, "ja")], case=case)
    assert "weigh_again" not in [f.kind for f in weighing_usecase.open_followups(repos, case, TODAY)]


def test_the_help_plan_turns_the_term_reminder_into_the_end_of_the_agreed_term(repos: Repositories, org) -> None:
    case, state = weigh(repos, org, [(1, "ja"), (2, "nee"), (3, "ja"), (4, "ja")])
    assert w.is_waiting(state)

    def kinds():
        return sorted(f.kind for f in weighing_usecase.open_followups(repos, case, TODAY))

    state = weighing_usecase.save_help_plan(repos, case, state, {"term": None}, org, TODAY)
    assert kinds() == ["parents_reached_help", "set_help_term"]
    state = weighing_usecase.save_help_plan(
        repos, case, state, {"term": "6 weken", "casemanager": "[persoon 1]"}, org, TODAY
    )
    assert kinds() == ["help_term_end", "parents_reached_help"]
    end = next(f for f in weighing_usecase.open_followups(repos, case, TODAY) if f.kind == "help_term_end")
    assert end.due_on == date(2026, 12, 14)  # six weeks
    assert weighing_usecase.load(repos, case).term == "6 weken"
    # Given again (a second device, a resent form): the term already agreed is kept, nothing is doubled.
    weighing_usecase.save_help_plan(repos, case, state, {"term": "2 weken"}, org, TODAY)
    assert weighing_usecase.load(repos, case).term == "6 weken"
    assert kinds() == ["help_term_end", "parents_reached_help"]


def test_only_outcomes_that_leave_both_decisions_open_ask_to_weigh_again() -> None:
    kb = w._weighing(None)
    undecided = {o.id for o in kb.outcomes if not w.is_decided(o.id)}
    assert undecided == {"consult_vt_first"}
    assert w.milestones_reached(1, "twijfel", "consult_vt_first") == []
    assert w.milestones_reached(1, "ja", None) == [w.LEADER_MILESTONE]
    assert w.milestones_reached(4, "ja", "start_help") == [w.DONE_MILESTONE]


def state_after(answers):
    state = w.WeighingState()
    for n, reply in answers:
        state = w.answer(state, n, reply)
    return state


def test_the_stored_follow_ups_are_the_ones_the_outcome_shows(org) -> None:
    """What the use cases store (outcome_followups, no texts rendered) is what the outcome lists."""
    helping = [(1, "ja"), (2, "nee"), (3, "ja"), (4, "ja")]
    for answers in ([(1, "twijfel")], [(1, "ja"), (2, "ja")], helping, [(1, "nee")], [(1, "ja")]):
        state = state_after(answers)
        shown = w.outcome(state, org)
        assert w.outcome_followups(state) == (shown.followups if shown else ())
    planned = w.record_help_plan(state_after(helping), term="6 weken")
    assert w.outcome_followups(planned) == w.outcome(planned, org).followups
    assert ("help_term_end", 42) in w.outcome_followups(planned)
