"""Limits every channel enforces before a message reaches the NLU.

Why 2,000 characters: DIET's memory grows quadratically with message length, and a teacher's message
about a pupil rarely needs more; a longer text is refused politely instead of slowing everyone down.
"""

MAX_MESSAGE_CHARS = 2000
TOO_LONG_MESSAGE = (
    "Uw bericht is te lang (meer dan 2.000 tekens). Wilt u het korter opschrijven, of in een paar "
    "kleinere berichten? Bij acuut gevaar: bel 112."
)
MISSING_SENDER_MESSAGE = "Het verzoek mist een afzender ('sender'); zonder afzender kan ik geen gesprek bijhouden."
