"""Meldwijzer's own package: the meldcode as data and pure functions, the use cases around them, and the
case store (``bot.store``).

The protocol core (knowledge, profiles, steps, weighing, contacts, notes, privacy, learning, export)
imports no Rasa, so it can be read and tested without it. The adapters to the Rasa server (channels,
NLU components, tracker and lock stores, the server patches) are the package ``plugins`` beside this
one; those of the action server are ``actions``.
"""
