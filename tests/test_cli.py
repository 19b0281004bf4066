"""`python -m bot`: the knowledge check guards the repo; generated FAQ responses must not drift."""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import bot.__main__ as cli

REPO = Path(__file__).resolve().parents[1]


def test_check_passes_on_this_checkout() -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "check"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "knowledge OK" in result.stdout


def test_check_fails_when_the_generated_faq_responses_are_stale(tmp_path, monkeypatch, capsys) -> None:
    stale = tmp_path / "faq_responses.yml"
    stale.write_text(cli.FAQ_RESPONSES.read_text().replace("Veilig Thuis", "het AMK", 1))
    monkeypatch.setattr(cli, "FAQ_RESPONSES", stale)
    assert cli.run_check() == 1
    assert "sync-faq" in capsys.readouterr().err


def test_check_fails_when_training_examples_are_edited_by_hand(tmp_path, monkeypatch, capsys) -> None:
    """The faq/<id> examples are generated from the knowledge variants; a hand edit would drift."""
    nlu = tmp_path / "faq.yml"
    nlu.write_text(cli.FAQ_NLU.read_text() + "\n- intent: faq/does_not_exist\n  examples: |\n    - vraag\n")
    monkeypatch.setattr(cli, "FAQ_NLU", nlu)
    assert cli.run_check() == 1
    assert "faq.yml: out of date" in capsys.readouterr().err


@pytest.mark.parametrize("text,days", [("180d", 180), ("26w", 182), ("2y", 730)])
def test_parse_age(text: str, days: int) -> None:
    assert cli.parse_age(text) == timedelta(days=days)


def test_parse_age_rejects_unclear_input() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_age("half jaar")
