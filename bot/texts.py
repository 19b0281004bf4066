"""Fixed user-facing lines that several layers show (actions and channels): written once here.

Why: the acute-danger line must read the same everywhere it is shown, including the apologies the
channels send when Rasa or the actions fail; copies drift.
"""

DANGER_LINE = "Bij acuut gevaar: bel 112. Advies of melding: Veilig Thuis 0800-2000 (gratis, 24/7)."
