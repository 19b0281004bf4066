"""The Rasa server patch (plugins/server.py): same verdicts and error text as Rasa's own check, installed
once, and refused when Rasa's method is not the one it was written for."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from plugins import server

VALID = {
    "events": [{"event": "slot", "name": "role", "value": "teacher", "timestamp": None}],
    "responses": [{"text": "Goed.", "buttons": [{"title": "Ja", "payload": "/affirm"}]}],
}
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
    with pytest.raises(RuntimeError, match="review plugins/server.py"):
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


# --- no fall-back to memory when the tracker store fails ---------------------------------------


class _UnreachableTrackerStore:
    """A tracker store whose database is gone (what the cluster test does to PostgreSQL for real)."""

    domain = None
    event_broker = None

    async def retrieve(self, sender_id: str) -> None:
        raise ConnectionRefusedError("database down")

    async def save(self, tracker: object) -> None:
        raise ConnectionRefusedError("database down")


def test_a_failing_tracker_store_raises_instead_of_starting_the_conversation_in_memory() -> None:
    """Rasa's wiring would return no tracker (a new, empty conversation) and save into memory; the error
    must reach the channel, which asks the user to send the message again."""
    import asyncio

    from rasa.core.agent import Agent
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    server.install()
    wired = Agent._create_tracker_store(_UnreachableTrackerStore(), Domain.empty())
    with pytest.raises(ConnectionRefusedError):
        asyncio.run(wired.retrieve("rest:school:juf"))
    with pytest.raises(ConnectionRefusedError):
        asyncio.run(wired.save(DialogueStateTracker("rest:school:juf", [])))
    assert wired._fallback_tracker_store is None  # nothing was kept in memory instead
    working = Agent._create_tracker_store(InMemoryTrackerStore(Domain.empty()), Domain.empty())
    asyncio.run(working.save(DialogueStateTracker("rest:school:juf", [])))
    assert asyncio.run(working.retrieve("rest:school:juf")) is not None


def test_the_pinned_tracker_store_wiring_is_the_installed_rasas() -> None:
    assert server.original_tracker_store_sha256() == server.PATCHED_TRACKER_STORE_SHA256


def test_install_refuses_a_changed_tracker_store_wiring(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.agent import Agent

    monkeypatch.setattr(Agent, "_create_tracker_store", staticmethod(lambda store, domain: store))
    with pytest.raises(RuntimeError, match="Agent._create_tracker_store"):
        server.install()
