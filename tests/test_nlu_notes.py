"""The trained model on notes asked for in one message, with phrasings that are not in data/.

Why: "signaal vastleggen: hij had striemen op zijn rug" used to read as a new worry (start_case), so a
teacher with a case open was asked "Gaat het om dezelfde leerling?" instead of getting her note. A
request to record, with the note after it, is record_note; a report that it is done already and a
question about what to record are not.
"""
from __future__ import annotations

import pytest

UNSEEN_REQUESTS = [
    "signaal vastleggen: zij had striemen op haar armen",
    "Noteer even: vader was vanochtend erg agressief bij het hek",
    "Ik wil vastleggen dat we vandaag met moeder hebben gepraat",
    "ik wil een notitie maken: hij vertelde dat hij thuis geslagen wordt",
    "Kan ik hier opschrijven wat ik gisteren zag? Ze had een blauwe plek",
]
NOT_REQUESTS = [
    ("ik heb de signalen vastgelegd", "progress_signals"),
    ("Ik maak me zorgen over een leerling, ze heeft blauwe plekken", "start_case"),
]


@pytest.mark.parametrize("text", UNSEEN_REQUESTS)
async def test_a_request_to_record_with_the_note_in_it_is_a_note(trained_agent, text: str) -> None:
    parsed = await trained_agent.parse_message(text)
    assert parsed["intent"]["name"] == "record_note", parsed["intent_ranking"][:3]


@pytest.mark.parametrize("text, intent", NOT_REQUESTS)
async def test_a_report_or_a_worry_is_no_request_to_record(trained_agent, text: str, intent: str) -> None:
    parsed = await trained_agent.parse_message(text)
    assert parsed["intent"]["name"] == intent, parsed["intent_ranking"][:3]
