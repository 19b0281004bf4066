"""Use cases of the case guidance (the five steps): whose role it is, recording what was done, going to
another step, and the user's own cases.

Why a layer of its own: each of these reads the case store, decides with the pure rules of
``bot.steps`` / ``bot.conversation`` and writes the result back before the assistant answers, so the
answer always shows what is stored. How the guidance is worded and which buttons follow stays in
``actions/steps.py``; opening a case is ``bot.cases.open_case``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

from bot import conversation, steps
from bot.cases import case_state

if TYPE_CHECKING:  # types only: the repositories are passed in by the caller
    from bot.store.repositories import CaseRecord, Repositories


def known_role(repos: Repositories, user_id: str, slot_role: Optional[str], text: str) -> Optional[str]:
    """The user's role: the conversation's, else the one the user store keeps for this identity (so it
    is asked only once), else what this message says about the writer ("Ik ben gymdocent en ...")."""
    if slot_role:
        return slot_role
    user = repos.users.get(user_id)
    if user and user.role:
        return user.role
    return conversation.stated_role(text)


def remember_role(repos: Repositories, user_id: str, organisation_id: str, role: Optional[str]) -> None:
    """Keep the role the user told (for wording only: access comes from the school's grants)."""
    repos.users.upsert(user_id, organisation_id=organisation_id, role=role)


def record_progress(repos: Repositories, case: CaseRecord, milestone: str) -> CaseRecord:
    """Mark a milestone the user said has happened; a core one moves the case to its next step."""
    state = steps.record_progress(case_state(case), milestone)
    return repos.cases.update_progress(case.id, state.step, sorted(state.done))


def go_to_step(repos: Repositories, case: CaseRecord, number: int) -> CaseRecord:
    """Put the case at step ``number``: the order of the steps is not mandatory (seed 003 §2, seed 004)."""
    state = steps.go_to_step(case_state(case), number)
    return repos.cases.update_progress(case.id, state.step, sorted(state.done))


def own_cases(repos: Repositories, user_id: str, role: Optional[str], organisation_id: str) -> List[CaseRecord]:
    """The user's own cases, open and closed (an officer's view of colleagues' cases is the overview)."""
    return [c for c in repos.cases.list_for(user_id, role, organisation_id) if c.owner_id == user_id]
