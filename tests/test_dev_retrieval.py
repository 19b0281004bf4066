"""The dev set of real staff questions (tests/data/dev/) and what retrieval does with it.

Why a dev set next to the held-out set: tuning retrieval, FAQ coverage and variants needs real questions
to look at, and the held-out set may only report. The dev set is built from other public pages (no page
of the held-out set is used), its rows never enter the training data or the knowledge, and the figures
below are measured on it with bot.retrieval alone: no Rasa server, no trained model (fast tier).

`.venv/bin/python -m tests.test_dev_retrieval` prints the report and every row retrieval gets wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, List, Sequence, Tuple

import pytest
import yaml

from bot import retrieval
from bot.retrieval import FALLBACK, HeldoutRow
from bot.steps import faq_ids
from tests.test_heldout_data import (
    HELDOUT,
    ROOT,
    field_problems,
    label_problems,
    leaks,
    load_labels,
    normalise,
    source_key,
)

DEV = ROOT / "tests" / "data" / "dev"
DEV_PATH = DEV / "questions.yml"
# The second dev set (2026-12-02): fresh real questions from other pages again, collected after the first
# was tuned on; the answer threshold is calibrated on it (bot.retrieval.ANSWER_THRESHOLD).
DEV2_PATH = ROOT / "tests" / "data" / "dev2" / "questions.yml"
DEV_SETS = pytest.mark.parametrize("path", [DEV_PATH, DEV2_PATH], ids=["dev", "dev2"])
# Labels a dev row may carry beside those of the held-out taxonomy: a step's guidance, or out of scope.
EXTRA_LABELS = frozenset({FALLBACK, *(f"{retrieval.STEP}:{n}" for n in range(1, 6))})
# Measured on the dev set with the knowledge of 2026-12-01 (docs/RETRIEVAL.md, "The dev set"); a change
# that makes retrieval worse on real questions fails here before it reaches the held-out report.
DEV_TOP1 = 0.798
DEV_ANSWERED_WRONG = 0.048
# The same on the second dev set (2026-12-02, knowledge with 18-21 variants an entry). Staff's fresh
# questions are harder than the first set, which the knowledge was tuned on: 0.750 there now.
DEV2_TOP1 = 0.527
DEV2_ANSWERED_WRONG = 0.116
MARGIN = 0.05


def dev_rows(path: Path = DEV_PATH) -> List[Dict]:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)["rows"]


# --- the set itself -----------------------------------------------------------------------------------------


@DEV_SETS
def test_the_dev_set_has_80_to_150_rows_from_at_least_20_pages(path: Path) -> None:
    rows = dev_rows(path)
    assert 80 <= len(rows) <= 150, len(rows)
    assert len({source_key(r["source"]) for r in rows}) >= 20


@DEV_SETS
def test_every_dev_row_has_the_held_out_row_format(path: Path) -> None:
    assert field_problems(dev_rows(path)) == []


@DEV_SETS
def test_every_expected_topic_is_a_known_label_a_step_fallback_or_a_named_gap(path: Path) -> None:
    """The held-out taxonomy, plus FAQ entries written after it (found missing with this set)."""
    faq, other = load_labels()
    assert label_problems(dev_rows(path), faq | set(faq_ids()), set(other) | EXTRA_LABELS) == []


@DEV_SETS
def test_no_two_dev_rows_have_the_same_text(path: Path) -> None:
    texts = [normalise(r["text"]) for r in dev_rows(path)]
    assert len(texts) == len(set(texts))


@DEV_SETS
def test_the_dev_set_shares_no_page_and_no_text_with_the_held_out_set(path: Path) -> None:
    with (HELDOUT / "questions.yml").open(encoding="utf-8") as fh:
        held = yaml.safe_load(fh)["rows"]
    dev = dev_rows(path)
    assert {source_key(r["source"]) for r in dev} & {source_key(r["source"]) for r in held} == set()
    assert {normalise(r["text"]) for r in dev} & {normalise(r["text"]) for r in held} == set()


@DEV_SETS
def test_no_dev_text_occurs_in_training_data_or_knowledge(path: Path) -> None:
    """As for the held-out set: all of data/ and every text of knowledge/ (questions, variants, answers,
    steps, situations); citations and knowledge/sources/*.md are the public pages' own words."""
    assert leaks(dev_rows(path), [ROOT / "data", ROOT / "knowledge"], (ROOT / "knowledge" / "sources",)) == []


def test_the_two_dev_sets_share_no_page_and_no_text() -> None:
    first, second = dev_rows(DEV_PATH), dev_rows(DEV2_PATH)
    assert {source_key(r["source"]) for r in first} & {source_key(r["source"]) for r in second} == set()
    assert {normalise(r["text"]) for r in first} & {normalise(r["text"]) for r in second} == set()


# --- what retrieval does with it ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One dev row through retrieval: the three nearest labels and what the fallback would do."""

    row: HeldoutRow
    nearest: Tuple[str, ...]
    answered: bool

    @property
    def out_of_scope(self) -> bool:
        return self.row.expected == FALLBACK

    @property
    def top1(self) -> bool:
        """The first hit is the right topic; for an out-of-scope row: nothing is answered."""
        return not self.answered if self.out_of_scope else self.row.right(self.nearest[0])

    @property
    def top3(self) -> bool:
        if self.out_of_scope:
            return not self.answered
        return any(self.row.right(label) for label in self.nearest)

    @property
    def answered_right(self) -> bool:
        return self.answered and self.top1

    @property
    def answered_wrong(self) -> bool:
        return self.answered and not self.top1

    @property
    def offered(self) -> bool:
        """Not answered, and the right topic is among the buttons (or nothing was right to answer)."""
        return not self.answered and self.top3


def measurable(row: HeldoutRow, known: FrozenSet[str]) -> bool:
    """Rows retrieval can get right: a retrievable topic is accepted, or the row is out of scope. Rows
    for an intent (start_case, contacts, english, ...) or a gap (other:...) are the NLU's or missing."""
    return row.expected == FALLBACK or any(label in known for label in (row.expected, *row.also))


def outcomes(rows: Sequence[HeldoutRow]) -> List[Outcome]:
    out = []
    for row in rows:
        suggestion = retrieval.suggest(row.text)
        hits = retrieval.search(row.text, 3)
        out.append(Outcome(row, tuple(retrieval.hit_label(h) for h in hits), suggestion.answer is not None))
    return out


def rate(results: Sequence[Outcome], name: str) -> float:
    return sum(1 for o in results if getattr(o, name)) / len(results) if results else 0.0


def measured_rows(path: Path) -> List[Outcome]:
    known = retrieval.known_labels(retrieval.topics())
    return outcomes([r for r in retrieval.load_heldout(path) if measurable(r, known)])


@pytest.fixture(scope="module")
def measured() -> List[Outcome]:
    return measured_rows(DEV_PATH)


@pytest.fixture(scope="module")
def measured2() -> List[Outcome]:
    return measured_rows(DEV2_PATH)


def test_retrieval_puts_the_right_topic_first_for_real_staff_questions(measured: List[Outcome]) -> None:
    assert rate(measured, "top1") >= DEV_TOP1 - MARGIN, report(measured)


def test_retrieval_seldom_answers_a_real_question_with_the_wrong_topic(measured: List[Outcome]) -> None:
    assert rate(measured, "answered_wrong") <= DEV_ANSWERED_WRONG + MARGIN, report(measured)


def test_retrieval_puts_the_right_topic_first_for_fresh_staff_questions(measured2: List[Outcome]) -> None:
    assert rate(measured2, "top1") >= DEV2_TOP1 - MARGIN, report(measured2)


def test_retrieval_seldom_answers_a_fresh_question_with_the_wrong_topic(measured2: List[Outcome]) -> None:
    assert rate(measured2, "answered_wrong") <= DEV2_ANSWERED_WRONG + MARGIN, report(measured2)


def test_out_of_scope_dev_rows_are_not_answered(measured: List[Outcome]) -> None:
    """The first set's out-of-scope rows are plainly off-topic. The second set's are borderline (what a
    divorced father may be told about homework): answering them counts in its answered-wrong rate."""
    answered = [o.row.text for o in measured if o.out_of_scope and o.answered]
    assert answered == []


def report(results: Sequence[Outcome]) -> str:
    """The dev figures as a table, then the rows whose first hit is wrong (what to fix next)."""
    names = ("top1", "top3", "answered_right", "answered_wrong", "offered")
    lines = [
        f"dev rows measured: {len(results)}",
        " | ".join(names),
        " | ".join(f"{rate(results, n):.3f}" for n in names),
        "",
        "first hit wrong:",
    ]
    lines += [
        f"  [{o.row.expected}] {o.row.text!r} -> {list(o.nearest)}{' ANSWERED' if o.answered else ''}"
        for o in results
        if not o.top1
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    all_known = retrieval.known_labels(retrieval.topics())
    for dev_path in (DEV_PATH, DEV2_PATH):
        dev = retrieval.load_heldout(dev_path)
        print(f"== {dev_path.parent.name}")
        print(report(outcomes([r for r in dev if measurable(r, all_known)])))
        print("not measurable (intent or gap):", sum(1 for r in dev if not measurable(r, all_known)))
