"""Use cases of learning (practice cases): which cases this staff member has done, and finishing one.

Why finishing is a use case: the summary suggests the next case from what was practised before (read
from the store), and the result is kept so that suggestion improves; both must see the same history.
A practice case never touches the real cases. Scoring and suggestions are ``bot.learning``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Set

from bot import learning

if TYPE_CHECKING:  # types only: the repositories are passed in by the caller
    from bot.store.repositories import Repositories


def done_cases(repos: Repositories, user_id: str) -> Set[str]:
    """The practice cases this staff member has finished before."""
    return repos.practice.done_case_ids(user_id)


def finish_practice(
    repos: Repositories, user_id: str, organisation_id: str, state: learning.PracticeState
) -> learning.Summary:
    """Score the practice, suggest what next from the earlier results, and keep this result (the tour
    of the assistant is not a case and is not kept)."""
    result = learning.summary(state, done_ids=done_cases(repos, user_id))
    if state.case_id != learning.TOUR_ID:
        case = learning.case_by_id(state.case_id)
        repos.practice.add_result(user_id, organisation_id, case.id, result.score, result.max_score, case.themes)
    return result
