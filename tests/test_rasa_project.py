"""Rasa-level checks run inside pytest, so `make test` has one summary line: data validation with
warnings as errors, and every conversation test file (tests/test_*_stories.yml) against the trained
model with prediction errors as failures."""
from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RASA = str(REPO / ".venv" / "bin" / "rasa")
MODEL = REPO / "models" / "meldwijzer.tar.gz"
STORY_FILES = sorted((REPO / "tests").glob("test_*_stories.yml"))


def run(args: list, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([RASA, *args], cwd=REPO, capture_output=True, text=True, timeout=1200)


def test_rasa_data_validates_without_warnings(tmp_path: Path) -> None:
    result = run(["data", "validate", "--fail-on-warnings"], tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]


def test_conversation_tests_pass(tmp_path: Path) -> None:
    """All conversation tests in one run (the model loads once); failures list the failed stories."""
    assert MODEL.exists(), "run `make train` first"
    assert STORY_FILES, "no tests/test_*_stories.yml found"
    stories = tmp_path / "stories"
    stories.mkdir()
    for path in STORY_FILES:
        (stories / path.name).symlink_to(path)
    out = tmp_path / "results"
    result = run(["test", "core", "--model", str(MODEL), "--stories", str(stories),
                  "--fail-on-prediction-errors", "--out", str(out)], tmp_path)
    failed = out / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, details[-8000:] + result.stdout[-3000:] + result.stderr[-3000:]
