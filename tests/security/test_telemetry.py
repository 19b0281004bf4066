"""Rasa's usage telemetry stays off however the servers are started: make targets and scripts/run.sh
both set the environment switch Rasa reads before its global config."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_make_exports_the_switch_to_every_recipe() -> None:
    out = subprocess.run(
        ["make", "-s", "-f", "Makefile", "--eval", "show-env: ; @echo $$RASA_TELEMETRY_ENABLED", "show-env"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "false"


def test_run_script_sets_the_switch_before_starting_rasa() -> None:
    script = (REPO / "scripts" / "run.sh").read_text(encoding="utf-8")
    assert script.index("export RASA_TELEMETRY_ENABLED=false") < script.index("rasa run")


def test_rasa_reads_the_switch_as_off(monkeypatch) -> None:
    from rasa import telemetry

    monkeypatch.setenv("RASA_TELEMETRY_ENABLED", "false")
    assert telemetry.is_telemetry_enabled() is False
