"""The acute-danger safety net: the component on its own, and the trained model end to end on
messages it has never seen (none of these sentences is in data/)."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot import retrieval
from plugins.nlu.safety import URGENT_SITUATIONS, AcuteDangerGuard, compile_terms, find_danger, normalise
from bot.steps import acute_routes, danger_terms, signal_terms
from steps_kb import steps_kb

KB = steps_kb()
# The acute routes: 112 first (suicide risk adds 113, recent sexual violence the Centrum Seksueel Geweld).
ACUTE_ROUTES = {route for route, _ in acute_routes(KB)}


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
    pattern = compile_terms(danger_terms(KB))
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


def test_an_urgent_prediction_without_its_own_signal_words_yields_to_danger_words() -> None:
    guard = AcuteDangerGuard(
        compile_terms(["wordt bedreigd"]), [("honour_based", compile_terms(signal_terms(KB)["honour_based"]))]
    )
    threatened = _message("haar zoon wordt bedreigd door een andere leerling, vanavond nog", "honour_based")
    forced = _message("ze wordt bedreigd omdat ze niet wil trouwen met een neef", "honour_based")
    guard.process([threatened, forced])
    assert threatened.get(INTENT)[INTENT_NAME_KEY] == "acute_danger"
    assert forced.get(INTENT)[INTENT_NAME_KEY] == "honour_based"  # backed by its own words: it stands


def test_signal_terms_decide_only_when_the_classifier_is_unsure() -> None:
    honour = compile_terms(signal_terms(KB)["honour_based"])
    guard = AcuteDangerGuard(compile_terms(["bloedt"]), [("honour_based", honour)])
    unsure = _message("ze moet deze zomer trouwen met een neef", "nlu_fallback")
    sure = _message("wat zegt de meldcode over meisjesbesnijdenis?", "faq")
    acute = _message("ze bloedt en ze moet trouwen", "nlu_fallback")
    guard.process([unsure, sure, acute])
    assert unsure.get(INTENT)[INTENT_NAME_KEY] == "honour_based"
    assert unsure.get("safety_net") == {"term": "trouwen", "overruled": "nlu_fallback"}
    assert sure.get(INTENT)[INTENT_NAME_KEY] == "faq"
    assert acute.get(INTENT)[INTENT_NAME_KEY] == "acute_danger"  # danger terms come first


@pytest.fixture
def agent(trained_agent):
    """The trained model, loaded once per run for all NLU-level tests (tests/conftest.py)."""
    return trained_agent


@pytest.mark.parametrize("text", UNSEEN_ACUTE)
async def test_trained_model_never_misses_acute_danger(agent, text: str) -> None:
    parsed = await agent.parse_message(text)
    assert parsed["intent"]["name"] in ACUTE_ROUTES | {"honour_based"}, parsed["intent"]


# The way in: however the NLU data grows (the FAQ is one large intent that pulls unseen
# statements towards it), the sentences a teacher starts with must start a case, and a signal told in
# words the model never saw must lead to one: directly, or through the question ActionFaq asks when
# retrieval's FAQ choice is a guess (with the button "Ik maak me zorgen over een leerling").
ENTRY = [
    "ik maak me zorgen over een leerling",
    "ik maak me zorgen",
    "Ik heb zorgen over een kind uit mijn groep",
    "er is iets niet pluis met een leerling",
]
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
    choice = retrieval.choose_faq(text) if intent == "faq" else None
    guessed_faq = choice is not None and choice.guess
    urgent = {route for route, _ in acute_routes(KB)} | URGENT_SITUATIONS  # every urgent route counts
    assert intent in {"start_case", "nlu_fallback"} | urgent or guessed_faq, (intent, choice)


def _guard_from_knowledge() -> AcuteDangerGuard:
    return AcuteDangerGuard.from_knowledge(KB)


def _guarded(text: str, intent: str) -> Message:
    """A message with the classifier's ``intent``, after the guard of the knowledge has seen it."""
    message = _message(text, intent)
    _guard_from_knowledge().process([message])
    return message


@pytest.mark.parametrize(
    "text, route",
    [
        ("hij zei vanochtend dat hij zichzelf iets wil aandoen", "suicide_risk"),
        ("ze heeft weer krassen op haar armen, ze snijdt zichzelf", "suicide_risk"),
        ("een meisje uit 4 havo is zaterdag op een feest verkracht", "sexual_violence"),
        ("hij is gisteren aangerand in de bus", "sexual_violence"),
        ("haar broer heeft gedreigd haar iets aan te doen", "acute_danger"),
        # Danger now in words the lists lacked (found with the second dev set; not its texts).
        ("een jongen uit 2 vmbo zit op de brugleuning en dreigt te springen", "suicide_risk"),
        ("ze heeft een afscheidsbrief in haar schrift geschreven", "suicide_risk"),
        ("hij zegt dat hij gisteravond pillen ingenomen heeft", "suicide_risk"),
        ("de oom van een kleuter is met twee mannen verhaal komen halen bij de klas", "acute_danger"),
        ("de boze vader staat voor mijn huis en belt steeds aan", "acute_danger"),
        ("een ouder is met de auto het fietsenhok binnengereden", "acute_danger"),
        ("er is een vuurwapen gezien bij de ingang", "acute_danger"),
        ("zijn broer is gisteren neergestoken en hij is nu in de klas", "acute_danger"),
    ],
)
def test_each_acute_route_wins_with_its_own_terms(text: str, route: str) -> None:
    message = _guarded(text, "faq")
    assert message.get(INTENT)[INTENT_NAME_KEY] == route


@pytest.mark.parametrize(
    "text",
    [
        "een meisje uit groep 8 is vanochtend op het schoolplein door twee jongens betast",
        "tijdens het schoolfeest heeft een jongen haar onder haar rok gezeten",
        "ze vertelt dat hij gisteravond in haar broek zat",
        "afgelopen nacht is hij op kamp door een begeleider seksueel misbruikt",
        "in de pauze hebben ze hem in zijn kruis gegrepen en betast",
    ],
)
def test_a_recent_moment_and_a_sexual_act_together_are_recent_sexual_violence(text: str) -> None:
    """Neither 'betast' nor 'zojuist' alone names the route; together, whatever the classifier said, the
    Centrum Seksueel Geweld's seven days matter (found with the second dev set; not its texts)."""
    message = _guarded(text, "progress_signals")
    assert message.get(INTENT)[INTENT_NAME_KEY] == "sexual_violence"


@pytest.mark.parametrize(
    "text",
    [
        "hoe leg ik vast dat een leerling vertelt dat ze vroeger is betast?",
        "ik heb zojuist met de ouders gesproken over zijn gedrag",
        "vanochtend hebben we het signalenoverleg gehad",
        "wat doe ik als een leerling ongewenst is aangeraakt door een klasgenoot?",
    ],
)
def test_a_moment_or_an_act_alone_is_not_recent_sexual_violence(text: str) -> None:
    message = _guarded(text, "faq")
    assert message.get(INTENT)[INTENT_NAME_KEY] != "sexual_violence"


@pytest.mark.parametrize(
    "text",
    [
        "een onderwijsassistent trok een leerling aan zijn oor",
        "een collega slaat een leerling",
        "de invalkracht kneep een kleuter hard in zijn arm",
        "de conciërge duwde een jongen van de trap",
    ],
)
def test_staff_and_harm_together_route_an_unsure_message_to_staff_suspect(text: str) -> None:
    message = _guarded(text, "nlu_fallback")
    assert message.get(INTENT)[INTENT_NAME_KEY] == "staff_suspect"


@pytest.mark.parametrize(
    "text",
    [
        "in de kleedkamer van de gymzaal",
        "iemand heeft haar hard vastgepakt",
        "een mail aan de ouders over de schoolreis",
        "mijn collega vraagt hoe de meldcode werkt",
        "de juf wil weten wat ze moet opschrijven",
    ],
)
def test_a_place_a_stranger_or_a_colleague_alone_is_no_staff_suspect(text: str) -> None:
    message = _guarded(text, "nlu_fallback")
    assert message.get(INTENT)[INTENT_NAME_KEY] != "staff_suspect"


@pytest.mark.parametrize(
    "text",
    [
        "ik zag brandwonden op de arm van een meisje uit groep 5",
        "vanochtend had een jongen uit 4b een blauw oog en hij wilde niet zeggen waarom",
        "een leerling vertelde in de kring dat haar broer aan haar zit",
        "Er zitten striemen op de benen van een kleuter",
    ],
)
def test_an_unsure_statement_with_an_abuse_word_starts_a_case(text: str) -> None:
    """Described signals get the guidance of step 1, not a list of topics (a clean-clone CI model was
    unsure of the brandwonden sentence and offered suicide prevention first)."""
    unsure = _guarded(text, "nlu_fallback")
    assert unsure.get(INTENT)[INTENT_NAME_KEY] == "start_case"
    assert unsure.get("safety_net")["overruled"] == "nlu_fallback"


@pytest.mark.parametrize(
    "text",
    [
        "wat zijn signalen van mishandeling?",
        "moet ik melden als ik blauwe plekken zie",
        "hoe herken ik seksueel misbruik bij kleuters",
    ],
)
def test_a_question_with_an_abuse_word_keeps_the_fallback(text: str) -> None:
    """A question about signals is answered from the knowledge (the fallback's topics), not as a case."""
    unsure = _guarded(text, "nlu_fallback")
    assert unsure.get(INTENT)[INTENT_NAME_KEY] == "nlu_fallback"


def test_a_confident_prediction_with_an_abuse_word_stands() -> None:
    sure = _guarded("ik heb de blauwe plekken vastgelegd in het dossier", "progress_signals")
    assert sure.get(INTENT)[INTENT_NAME_KEY] == "progress_signals" and sure.get("safety_net") is None


# Staff-suspect routing on unseen phrasings (issue 12): none of these sentences is in data/.
UNSEEN_STAFF = [
    "een onderwijsassistent trok een leerling aan zijn oor",
    "een collega slaat een leerling",
    "de leerkracht van groep 5 gaf een jongen een harde klap",
    "ik zag dat de gymjuf een meisje aan haar haren meetrok",
    "een stagiair heeft een leerling van 13 op schoot getrokken en gezoend",
    "de mentor van 2b schopt tegen de stoelen van leerlingen en schreeuwt dat hij ze slaat",
]
NOT_STAFF = [
    "in de kleedkamer van de gymzaal zag ik dat een jongen striemen op zijn rug had",
    "iemand heeft haar hard vastgepakt, ze heeft blauwe plekken op haar arm",
    "ik moet een mail aan de ouders over de schoolreis sturen",
    "tijdens de gymles viel me op dat ze steeds dezelfde kleren draagt",
]


@pytest.mark.parametrize("text", UNSEEN_STAFF)
async def test_trained_model_routes_a_suspected_staff_member(agent, text: str) -> None:
    parsed = await agent.parse_message(text)
    assert parsed["intent"]["name"] == "staff_suspect", parsed["intent_ranking"][:3]


@pytest.mark.parametrize("text", NOT_STAFF)
async def test_trained_model_does_not_route_places_or_strangers_to_staff_suspect(agent, text: str) -> None:
    parsed = await agent.parse_message(text)
    assert parsed["intent"]["name"] != "staff_suspect", parsed["intent_ranking"][:3]


UNSEEN_ROUTES = [
    ("een leerling zegt dat ze er niet meer wil zijn en heeft pillen verzameld", "suicide_risk"),
    ("mijn leerling vertelde dat ze zichzelf elke avond snijdt", "suicide_risk"),
    ("een leerling is afgelopen vrijdag na een feest verkracht door een jongen uit de buurt", "sexual_violence"),
]


@pytest.mark.parametrize("text, route", UNSEEN_ROUTES)
async def test_trained_model_takes_the_specific_acute_route(agent, text: str, route: str) -> None:
    parsed = await agent.parse_message(text)
    assert parsed["intent"]["name"] == route, parsed["intent_ranking"][:3]


# --- the context policy: acute danger across turns ------------------------------------------------


def _policy(tmp_path):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from plugins.nlu.safety import AcuteContextPolicy
    from bot.steps import context_rule

    config = {**AcuteContextPolicy.get_default_config()}
    rule = context_rule(config["abuse_intents"], KB)
    return AcuteContextPolicy(
        config,
        LocalModelStorage(tmp_path),
        Resource("acute_context"),
        ExecutionContext(GraphSchema({}), "test"),
        rule=rule,
    )


def _domain():
    from rasa.shared.core.domain import Domain

    return Domain.from_dict(
        {
            "intents": ["start_case", "nlu_fallback", "ask_next_step", "acute_danger", "faq", "greet"],
            "actions": ["action_situation", "action_start_case", "action_next_step", "action_fallback"],
            "forms": {"case_start_form": {"required_slots": []}},
        }
    )


def _tracker(*turns, after=(), active_loop=None):
    """A conversation: user turns (intent, text), each answered by an action except the last, which
    waits unless ``after`` names the actions run since."""
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    if active_loop:
        events.append(ActiveLoop(active_loop))
    for i, (intent, text) in enumerate(turns):
        events.append(UserUttered(text, {"name": intent, "confidence": 0.9}))
        if i < len(turns) - 1:
            events += [ActionExecuted("action_start_case"), ActionExecuted("action_listen")]
    events += [ActionExecuted(a) for a in after]
    return DialogueStateTracker.from_events("teacher", events)


def _predicted(policy, tracker, domain):
    prediction = policy.predict_action_probabilities(tracker, domain)
    if max(prediction.probabilities) == 0:
        return None
    return domain.action_names_or_texts[prediction.probabilities.index(max(prediction.probabilities))]


DISCLOSURE_TURN = ("start_case", "een leerling vertelde me net dat haar oom aan haar zit")


@pytest.mark.parametrize(
    "latest",
    [
        ("nlu_fallback", "hij past vanavond weer op"),
        ("ask_next_step", "wat moet ik doen, ze is straks weer alleen met hem"),
        ("start_case", "ze moet dit weekend weer bij hem logeren"),
        ("faq", "ze is bang om naar huis te gaan vanavond, mag ik haar hier houden?"),
    ],
)
def test_context_policy_sends_immediacy_after_a_disclosure_to_the_acute_route(tmp_path, latest) -> None:
    assert _predicted(_policy(tmp_path), _tracker(DISCLOSURE_TURN, latest), _domain()) == "action_situation"


def test_context_policy_abstains_without_an_abuse_signal_or_without_immediacy(tmp_path) -> None:
    policy, domain = _policy(tmp_path), _domain()
    assert _predicted(policy, _tracker(("greet", "hoi"), ("nlu_fallback", "hij past vanavond weer op")), domain) is None
    assert _predicted(policy, _tracker(DISCLOSURE_TURN, ("ask_next_step", "wat moet ik nu doen?")), domain) is None
    # a special situation's own rule answers it; the policy does not double it
    tracker = _tracker(DISCLOSURE_TURN, ("acute_danger", "ze is vanavond weer bij hem"))
    assert _predicted(policy, tracker, domain) is None
    # a session that started after the disclosure is another conversation
    from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered

    tracker = _tracker(DISCLOSURE_TURN, after=["action_start_case", "action_listen"])
    for event in [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered("hij past vanavond weer op", {"name": "nlu_fallback"}),
    ]:
        tracker.update(event)
    assert _predicted(policy, tracker, domain) is None


def test_context_policy_listens_or_resumes_the_form_after_its_acute_reply(tmp_path) -> None:
    policy, domain = _policy(tmp_path), _domain()
    latest = ("nlu_fallback", "hij past vanavond weer op")
    assert _predicted(policy, _tracker(DISCLOSURE_TURN, latest, after=["action_situation"]), domain) == "action_listen"
    in_form = _tracker(DISCLOSURE_TURN, latest, after=["action_situation"], active_loop="case_start_form")
    assert _predicted(policy, in_form, domain) == "case_start_form"
    # after an ordinary answer it stays out of the way
    calm = _tracker(DISCLOSURE_TURN, ("ask_next_step", "wat nu?"), after=["action_next_step"])
    assert _predicted(policy, calm, domain) is None
