"""Meldwijzer's own package: the meldcode as data and pure functions, plus the infrastructure around it.

The protocol core (knowledge, profiles, steps, weighing, contacts, notes, privacy, learning, export)
imports no Rasa, so it can be read and tested without it. Only the adapters to Rasa do: our input
channels (``bot/channels``), the NLU safety net (``bot/nlu``), and the Rasa tracker and lock stores in
``bot/store/tracker_store.py`` and ``bot/store/lock_store.py``.
"""
