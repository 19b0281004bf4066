"""The acute-danger safety net: the component on its own, and the trained model end to end on
messages it has never seen (none of these sentences is in data/)."""
from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions.steps import FAQ_MIN_CONFIDENCE
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


# The way in: however the NLU data grows (the FAQ is one large retrieval intent that pulls unseen
# statements towards it), the sentences a teacher starts with must start a case, and a signal told in
# words the model never saw must lead to one: directly, or through the question ActionFaq asks when its
# FAQ choice is a guess (with the button "Ik maak me zorgen over een leerling").
ENTRY = ["ik maak me zorgen over een leerling", "ik maak me zorgen", "Ik heb zorgen over een kind uit mijn groep",
         "er is iets niet pluis met een leerling"]
UNSEEN_SIGNALS = [
    "moeder ruikt elke ochtend naar drank",
    "de vader van een kleuter schreeuwt elke dag tegen hem bij het hek",
    "een leerling eet bijna niets meer en is erg mager geworden",
    "ze heeft steeds nieuwe blauwe plekken op haar benen",
    "hij vertelt dat hij 's avonds vaak alleen thuis is met zijn zusje van twee",
]


@pytest.mark.parametrize("text", ENTRY)
async def test_the_usual_first_sentences_start_a_case(agent, text: str) -> None:
    parsed = await agent.parse_message(text)
    assert parsed["intent"]["name"] == "start_case", parsed["intent_ranking"][:3]


@pytest.mark.parametrize("text", UNSEEN_SIGNALS)
async def test_an_unseen_signal_leads_to_a_case(agent, text: str) -> None:
    parsed = await agent.parse_message(text)
    intent = parsed["intent"]["name"]
    selector = parsed.get("response_selector", {}).get("faq", {}).get("response", {})
    guessed_faq = intent == "faq" and selector.get("confidence", 1.0) < FAQ_MIN_CONFIDENCE
    assert intent in {"start_case", "acute_danger", "honour_based", "nlu_fallback"} or guessed_faq, \
        (intent, selector)
