"""The held-out set end to end through the trained NLU pipeline (models/meldwijzer.tar.gz, no server).

The Rasa-level tier (it needs the trained model: the ``trained_agent`` fixture marks it). The rows are
real questions and situations from public sources that are never training data, FAQ variants or
calibration data; the thresholds below are measured figures minus a small margin (docs/RETRIEVAL.md).
"""

from __future__ import annotations

from typing import Dict, List

import pytest

from bot import retrieval

# Measured on 2026-12-01 (193 rows) with the model of the 125-entry FAQ knowledge, the one-layer DIET and
# the dev-tuned retrieval: with retrieval 0.440 right / 0.373 fallback (0.415 / 0.404 before the agreement
# bar went from 0.315 to 0.25), the intents alone 0.161 / 0.762. Before (120 entries, two-layer DIET, old
# retrieval): 0.409 / 0.435 and 0.192 / 0.720. The intents-alone floor is kept at the earlier figure
# rather than lowered to the new one.
WITH_RETRIEVAL = 0.44
INTENTS_ALONE = 0.19
MARGIN = 0.05

pytestmark = pytest.mark.skipif(not retrieval.HELDOUT_PATH.exists(), reason="held-out set not written yet")


@pytest.fixture(scope="module")
def parsed(trained_agent) -> List[Dict]:
    """Every held-out row parsed once by the trained model."""
    import asyncio

    async def parse_all() -> List[Dict]:
        return [await trained_agent.parse_message(row.text) for row in retrieval.load_heldout()]

    return asyncio.run(parse_all())


def test_with_retrieval_the_right_topic_is_answered_for_most_unseen_questions(parsed: List[Dict]) -> None:
    rows = retrieval.load_heldout()
    result = retrieval.score(rows, [retrieval.answered_with_retrieval(p) for p in parsed])
    assert result.accuracy >= WITH_RETRIEVAL - MARGIN, result


def test_retrieval_adds_to_the_intents_and_the_intents_hold_their_level(parsed: List[Dict]) -> None:
    rows = retrieval.load_heldout()
    alone = retrieval.score(rows, [retrieval.answered_by_intents(p) for p in parsed])
    both = retrieval.score(rows, [retrieval.answered_with_retrieval(p) for p in parsed])
    assert alone.accuracy >= INTENTS_ALONE - MARGIN, alone
    assert both.right >= alone.right and both.fallback <= alone.fallback, (alone, both)


def test_every_acute_row_reaches_the_acute_route(parsed: List[Dict]) -> None:
    """An ``acute`` row goes to acute danger (112 / Veilig Thuis first), or to its own urgent route when
    the set names one (e.g. a special situation); never to a question answer or a fallback."""
    rows = retrieval.load_heldout()
    answers = [retrieval.answered_with_retrieval(p) for p in parsed]
    missed = [
        (r.text[:60], a.label)
        for r, a in zip(rows, answers)
        if r.kind == "acute" and a.label != "acute_danger" and not r.right(a.label)
    ]
    assert not missed
