"""The acute-danger safety net: the component on its own, and the trained model end to end on
messages it has never seen (none of these sentences is in data/)."""
from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.safety import AcuteDangerGuard, compile_terms, find_danger, normalise
from bot.steps import danger_terms, signal_terms

MODEL = Path(__file__).resolve().parents[1] / "models" / "meldwijzer.tar.gz"

UNSEEN_ACUTE = [
    "Help, er zit bloed op haar trui en ze zegt dat papa boos thuis wacht",
    "de leerling durft niet naar huis vandaag, wat nu?",
    "Een jongen vertelt dat zijn stiefvader hem gisteren bijna heeft gewurgd",
    "moeder stond net met een mes op het schoolplein te schreeuwen",
    "een meisje zegt dat ze zelfmoord wil plegen omdat het thuis zo erg is",
    "leerling is bewusteloos geweest na een klap van zijn oom",
    "er ligt een leerling met brandwonden in de ehbo ruimte en ze wil niet naar huis",
    "ACUUT GEVAAR groep 3",
    "Het kind is nu in gevaar want de vader gaat haar vandaag nog meenemen",
    "mijn leerling wordt vanavond meegenomen naar het buitenland om te trouwen",
    "zijn vader heeft gedreigd hem vanavond iets aan te doen",
]


def test_terms_come_from_the_knowledge_and_match_on_word_boundaries() -> None:
    pattern = compile_terms(danger_terms())
    assert find_danger("Hij had een MES bij zich", pattern) == "mes"
    assert find_danger("ze knipt mesjes uit papier", pattern) is None
    assert find_danger("Ze durft niet naar huis", pattern) == "durft niet naar huis"
    assert normalise("Suïcide  ") == "suicide"


def _message(text: str, intent: str) -> Message:
    return Message(data={TEXT: text, INTENT: {INTENT_NAME_KEY: intent, "confidence": 0.8}})


def test_guard_overrules_a_wrong_prediction_but_not_other_urgent_routes() -> None:
    guard = AcuteDangerGuard(compile_terms(["durft niet naar huis"]))
    wrong = _message("ze durft niet naar huis", "progress_pupil_talk")
    urgent = _message("ze durft niet naar huis, ze wordt uitgehuwelijkt", "honour_based")
    calm = _message("ik heb met de ouders gesproken", "progress_parents_talk")
    guard.process([wrong, urgent, calm])
    assert wrong.get(INTENT)[INTENT_NAME_KEY] == "acute_danger"
    assert wrong.get("safety_net")["overruled"] == "progress_pupil_talk"
    assert urgent.get(INTENT)[INTENT_NAME_KEY] == "honour_based"
    assert calm.get(INTENT)[INTENT_NAME_KEY] == "progress_parents_talk"


def test_signal_terms_decide_only_when_the_classifier_is_unsure() -> None:
    guard = AcuteDangerGuard(compile_terms(["bloedt"]), [("honour_based", compile_terms(signal_terms()["honour_based"]))])
    unsure = _message("ze moet deze zomer trouwen met een neef", "nlu_fallback")
    sure = _message("wat zegt de meldcode over meisjesbesnijdenis?", "faq")
    acute = _message("ze bloedt en ze moet trouwen", "nlu_fallback")
    guard.process([unsure, sure, acute])
    assert unsure.get(INTENT)[INTENT_NAME_KEY] == "honour_based"
    assert unsure.get("safety_net") == {"term": "trouwen", "overruled": "nlu_fallback"}
    assert sure.get(INTENT)[INTENT_NAME_KEY] == "faq"
    assert acute.get(INTENT)[INTENT_NAME_KEY] == "acute_danger"  # danger terms come first


@pytest.fixture(scope="module")
def agent():
    from rasa.core.agent import Agent

    assert MODEL.exists(), "run `make train` first"
    return Agent.load(str(MODEL))


@pytest.mark.parametrize("text", UNSEEN_ACUTE)
async def test_trained_model_never_misses_acute_danger(agent, text: str) -> None:
    parsed = await agent.parse_message(text)
    assert parsed["intent"]["name"] in {"acute_danger", "honour_based"}, parsed["intent"]
