"""The Rasa server patch (bot/server.py): same verdicts and error text as Rasa's own check, installed
once, and refused when Rasa's method is not the one it was written for."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot import server

VALID = {"events": [{"event": "slot", "name": "role", "value": "teacher", "timestamp": None}],
         "responses": [{"text": "Goed.", "buttons": [{"title": "Ja", "payload": "/affirm"}]}]}
INVALID = [
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
    {"responses": [1, 2]},
    {"events": [{"event": "slot"}]},  # a slot event without a name
]


def _action() -> RemoteAction:
    return RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1/webhook"))


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    server.install()


def test_the_patch_gives_rasas_verdict_on_valid_and_invalid_responses(installed: None) -> None:
    original = RemoteAction._validate_action_result.__wrapped__
    assert RemoteAction._validate_action_result(_action(), VALID) is True
    for result in INVALID:
        with pytest.raises(ValidationError) as ours:
            RemoteAction._validate_action_result(_action(), result)
        with pytest.raises(ValidationError) as theirs:
            original(_action(), result)
        assert ours.value.message == theirs.value.message
        assert "Failed to validate Action server response" in ours.value.message


def test_install_is_idempotent(installed: None) -> None:
    first = RemoteAction._validate_action_result
    server.install()
    assert RemoteAction._validate_action_result is first


def test_install_refuses_a_changed_rasa_method(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RemoteAction, "_validate_action_result", lambda self, result: True)
    with pytest.raises(RuntimeError, match="review bot/server.py"):
        server.install()


def test_the_pinned_fingerprint_is_the_installed_rasas() -> None:
    assert server.original_source_sha256() == server.PATCHED_SOURCE_SHA256


# --- loading a model for prediction -------------------------------------------------------------
# What the patched load predicts is compared with Rasa's own load by ``make bench``
# (benchmarks/model_load.py: every dev and held-out question, every story tracker); every model-tier
# test runs on the patched load (the Rasa server and the trained_agent fixture install it).

def test_the_pinned_load_fingerprint_is_the_installed_rasas() -> None:
    assert server.original_load_sha256() == server.PATCHED_LOAD_SHA256


def test_the_load_is_replaced_once_and_keeps_rasas_own_for_fine_tuning(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.utils.tensorflow.models import RasaModel

    installed = RasaModel.__dict__["load"]
    rasas = getattr(installed, "_meldwijzer_rasa_load", installed)  # another test may have installed ours
    monkeypatch.setattr(RasaModel, "load", rasas)
    server.install()
    ours = RasaModel.__dict__["load"]
    assert ours is not rasas and ours.__func__ is server._load_for_prediction
    server.install()
    assert RasaModel.__dict__["load"] is ours  # idempotent
    assert server._rasa_load(RasaModel) is rasas.__func__  # fine-tuning and missing examples go there


def test_install_refuses_a_changed_rasa_load(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.utils.tensorflow.models import RasaModel

    monkeypatch.setattr(RasaModel, "load", classmethod(lambda cls, *args: None))
    with pytest.raises(RuntimeError, match="RasaModel.load"):
        server.install()
