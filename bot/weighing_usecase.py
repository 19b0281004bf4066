"""Use cases of the weighing (afwegingskader): load a case's weighing, answer a question, save the help
plan, attach a weighing to a case.

Why a layer of its own: one answer does four things that must stay consistent. It is stored in the
case's trace (``weighing_answers``, replayed by ``bot.weighing``), it may mark milestones on the case
(the school leader informed after question 1 = ja; weighed once an outcome is reached), it may settle
follow-ups (a new weighing settles "weigh again") and it may add them (Veilig Thuis's feedback after 5
werkdagen, the end of the help term). The rules are in ``bot.weighing``; these functions load, decide
with them and store. The dialogue (which question is asked, the buttons, the slots) stays in
``actions/weighing.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Collection, Dict, List, Mapping, Optional, Sequence, Tuple

from bot import cases, steps
from bot import weighing as w
from bot.cases import case_state
from bot.profiles import Organisation

if TYPE_CHECKING:  # types only: the repositories are passed in by the caller
    from bot.store.repositories import CaseRecord, FollowUpRecord, Repositories

WEIGHING_STEP = 4  # a weighing without a case opens one at "wegen" (stap 4)


@dataclass(frozen=True)
class Attached:
    """The case a weighing is recorded in, and whether it was opened for it just now."""

    case: CaseRecord
    opened: bool


def attach_case(
    repos: Repositories, current: Optional[CaseRecord], user_id: str, organisation_id: str, role: Optional[str]
) -> Attached:
    """The open case, or a new one at step 4: the decision must be recorded to be explainable later,
    and advice is never blocked by a missing case."""
    if current is not None:
        return Attached(current, opened=False)
    return Attached(cases.open_case(repos, user_id, organisation_id, role, step=WEIGHING_STEP), opened=True)


def load(repos: Repositories, case: CaseRecord) -> w.WeighingState:
    """The case's weighing as its stored trace replays."""
    return w.replay(repos.weighing.trace(case.id))


def open_followups(repos: Repositories, case: CaseRecord, today: date) -> List[FollowUpRecord]:
    """The case's follow-ups not done yet, read as its owner."""
    return repos.followups.open_for_case(case.id, case.owner_id, None, today)


def answer_question(
    repos: Repositories,
    case: CaseRecord,
    state: w.WeighingState,
    n: int,
    reply: w.Answer,
    org: Organisation,
    today: date,
) -> w.WeighingState:
    """One answer: replay-checked by bot.weighing, stored, and its milestones and follow-ups recorded.

    Question 1 starts a new weighing, which settles a pending 'weigh again'; the follow-ups that depend
    on the help plan are set once the plan has been asked (:func:`save_help_plan`)."""
    new_state = w.answer(state, n, reply)
    outcome_id = w.outcome_id(new_state)
    details: Dict[str, Any] = {"entry": w.ENTRY_ANSWER}
    if n == 5:
        details.update(w.help_plan(state))
    repos.weighing.add(case.id, n, reply, outcome_id, details)
    if n == 1:
        _settle(repos, case, w.followups_settled_by("new_weighing"), today)
    milestones = w.milestones_reached(n, reply, outcome_id)
    if milestones:
        _record_milestones(repos, case, milestones)
    plan_kinds = w.plan_followup_kinds()
    _add_followups(repos, case, [f for f in w.outcome_followups(new_state) if f[0] not in plan_kinds], org, today)
    return new_state


def save_help_plan(
    repos: Repositories,
    case: CaseRecord,
    state: w.WeighingState,
    given: Mapping[str, Optional[str]],
    org: Organisation,
    today: date,
) -> w.WeighingState:
    """Store the parts of the help plan given now (term, casemanager, tasks; a part already known is kept),
    then bring the plan's follow-ups up to date: a reminder to agree a term, or the end of the agreed
    term; one the outcome no longer lists is settled."""
    new = {key: value for key, value in given.items() if value and not getattr(state, key)}
    updated = (
        w.record_help_plan(state, term=new.get("term"), casemanager=new.get("casemanager"), tasks=new.get("tasks"))
        if new
        else state
    )
    if new:
        repos.weighing.add(case.id, 4, "ja", w.outcome_id(updated), {"entry": w.ENTRY_PLAN, **new})
    plan_kinds = w.plan_followup_kinds()
    wanted = [f for f in w.outcome_followups(updated) if f[0] in plan_kinds]
    _settle(repos, case, plan_kinds - {kind for kind, _ in wanted}, today)
    present = {f.kind for f in open_followups(repos, case, today)}
    _add_followups(repos, case, [f for f in wanted if f[0] not in present], org, today)
    return updated


def _record_milestones(repos: Repositories, case: CaseRecord, milestones: Sequence[str]) -> CaseRecord:
    """Mark milestones through bot.steps (a core one moves the case on) and store the result. The case is
    read again first: the record the caller holds may predate an earlier answer's milestones."""
    state = case_state(repos.cases.get(case.id, case.owner_id, None))
    for milestone in milestones:
        state = steps.record_progress(state, milestone)
    return repos.cases.update_progress(case.id, state.step, sorted(state.done))


def _add_followups(
    repos: Repositories, case: CaseRecord, followups: Sequence[Tuple[str, int]], org: Organisation, today: date
) -> None:
    """Store an outcome's follow-ups with their due date and the organisation's wording."""
    for followup in followups:
        repos.followups.add(case.id, followup[0], w.due_date(today, followup), w.followup_text(followup[0], org))


def _settle(repos: Repositories, case: CaseRecord, kinds: Collection[str], today: date) -> None:
    """Mark the case's open follow-ups of these kinds done: what they asked for has happened."""
    for followup in open_followups(repos, case, today):
        if followup.kind in kinds:
            repos.followups.complete(followup.id, case.owner_id, None)
