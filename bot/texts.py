"""Fixed user-facing lines that several layers show (actions and channels): written once here.

Why: the acute-danger line must read the same everywhere it is shown, including the apologies the
channels send when Rasa or the actions fail; copies drift.
"""

DANGER_LINE = "Bij acuut gevaar: bel 112. Advies of melding: Veilig Thuis 0800-2000 (gratis, 24/7)."


def sentence(text: str) -> str:
    """``text`` ending as a sentence: a full stop added unless it already ends in . ? or ! (a step's
    title can be a question: "Beslissen: is melden noodzakelijk? Is hulp (ook) mogelijk?")."""
    stripped = text.rstrip()
    return stripped if stripped.endswith((".", "?", "!")) else stripped + "."


def question(text: str) -> str:
    """``text`` ending as one question: "Bedoelt u: <title>?" must not read "??" when the title (an FAQ
    question) is a question already, nor "?." or ".?" when it is a statement."""
    stripped = text.rstrip().rstrip(".!")
    return stripped if stripped.endswith("?") else stripped + "?"
