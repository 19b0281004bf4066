"""Rasa-level checks run inside pytest, so `make test` has one summary line: data validation with
warnings as errors, and every conversation test file (tests/test_*_stories.yml) against the trained
model with any wrong prediction as a failure."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RASA = str(REPO / ".venv" / "bin" / "rasa")
STORY_FILES = sorted((REPO / "tests").glob("test_*_stories.yml"))


def run(args: list, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([RASA, *args], cwd=REPO, capture_output=True, text=True, timeout=1200)


def test_rasa_data_validates_without_warnings(tmp_path: Path) -> None:
    result = run(["data", "validate", "--fail-on-warnings"], tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]


async def test_conversation_tests_pass(trained_agent, tmp_path: Path) -> None:
    """All conversation tests against the trained model, as ``rasa test core`` runs them, in this process
    with the model the other NLU tests loaded (a second load would cost as much as the tests); failures
    list the failed stories."""
    from rasa.core.test import test as rasa_test_core

    assert STORY_FILES, "no tests/test_*_stories.yml found"
    stories = tmp_path / "stories"
    stories.mkdir()
    for path in STORY_FILES:
        (stories / path.name).symlink_to(path)
    out = tmp_path / "results"
    out.mkdir()
    await rasa_test_core(str(stories), trained_agent, out_directory=str(out), disable_plotting=True)
    failed = (out / "failed_test_stories.yml").read_text()
    assert failed.startswith("# None of the test stories failed"), failed[-8000:]
