"""`python -m bot`: the knowledge check guards the repo; generated FAQ training data must not drift."""

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


def test_check_fails_when_training_examples_are_edited_by_hand(tmp_path, monkeypatch, capsys) -> None:
    """The faq examples are generated from the knowledge variants; a hand edit would drift."""
    nlu = tmp_path / "faq.yml"
    nlu.write_text(cli.FAQ_NLU.read_text() + "    - een vraag die in geen enkele entry staat\n")
    monkeypatch.setattr(cli, "FAQ_NLU", nlu)
    assert cli.run_check() == 1
    assert "faq.yml: out of date" in capsys.readouterr().err


def test_only_the_first_asking_variants_of_an_entry_become_training_examples(monkeypatch) -> None:
    """Retrieval reads every variant; DIET gets the question and the first NLU_VARIANTS_PER_ENTRY that ask
    something as examples of the one intent ``faq``: more variants do not lengthen every training run, and
    a described situation ("leerling vertelt dat ...") never teaches DIET that a worry is a question."""
    from ruamel.yaml import YAML

    from bot import steps
    from bot.knowledge import knowledge

    kb = knowledge()
    entry = steps.faq_entries(kb)[0]
    many = [f"wat is variant nummer {n}?" for n in range(cli.NLU_VARIANTS_PER_ENTRY + 8)]
    told = ["leerling vertelt dat ze met de riem krijgt", "moeder ruikt naar drank bij het ophalen"]
    variants = [told[0], *many[:2], told[1], *many[2:]]
    monkeypatch.setattr(steps, "faq_entries", lambda _kb=None: [entry.copy(update={"variants": variants})])
    (item,) = YAML(typ="safe").load(cli.faq_nlu_text(kb))["nlu"]
    examples = [line[2:] for line in item["examples"].splitlines()]
    assert item["intent"] == "faq"
    assert examples == [entry.question, *many[: cli.NLU_VARIANTS_PER_ENTRY]]
    assert not set(told) & set(examples)


@pytest.mark.parametrize("text,days", [("180d", 180), ("26w", 182), ("2y", 730)])
def test_parse_age(text: str, days: int) -> None:
    assert cli.parse_age(text) == timedelta(days=days)


def test_parse_age_rejects_unclear_input() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_age("half jaar")
