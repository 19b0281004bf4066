"""What a teacher answers to each question of the note form, for the tests that fill a note over real
HTTP (tests/e2e/test_notes.py, the cluster test in tests/deploy): one place, so a changed prompt in
bot/notes.py is fixed once."""

from __future__ import annotations

from typing import List

from tests.e2e.conftest import button_payloads

# What a teacher would answer to each question, by the start of the question (bot/notes.py prompts).
ANSWERS = {
    "Wanneer": "gisteren om tien uur",
    "Waar was dit": "in de klas",
    "In welke situatie": "tijdens de rekenles",
    "Wie waren er nog meer bij": "een onderwijsassistent",
    "Wat heeft u gezien": "Een blauwe plek op zijn arm; hij trok snel zijn mouw omlaag.",
    "Met wie heeft u overlegd": "met de intern begeleider",
    "Welk advies": "een gesprek met moeder voeren",
    "Met wie heeft u gesproken": "moeder en de intern begeleider",
    "Welk doel": "onze zorgen delen en samen kijken wat nodig is",
    "Welke feiten": "de blauwe plekken van vorige week",
    "Hoe reageerde": "moeder schrok en vertelde over spanningen thuis",
    "Welke afspraken zijn gemaakt": "moeder neemt contact op met het wijkteam",
    "Wie hebben samen gewogen": "intern begeleider en aandachtsfunctionaris",
    "Wat is besloten": "hulp organiseren via het wijkteam, omdat moeder meewerkt",
    "Wie heeft de melding gedaan": "de aandachtsfunctionaris",
    "Wat is met Veilig Thuis afgesproken": "de school blijft de leerling volgen en belt na een week",
    "Hoe gaat het nu": "hij is rustiger in de klas en eet weer mee",
}


def answer_for(replies: List[dict]) -> str:
    """The reply to the last question: a typed answer, else Ja for a yes/no question, else 'geen'."""
    question = next(r["text"] for r in reversed(replies) if r.get("text"))
    for start, answer in ANSWERS.items():
        if start in question:
            return answer
    payloads = button_payloads(replies)
    if "/affirm" in payloads:
        return "/affirm"
    assert "/deny" in payloads, f"no answer known for: {question}"
    return "/deny"
