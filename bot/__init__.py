"""Meldwijzer's own package: the meldcode as data and pure functions, plus the infrastructure around it.

Nothing in ``bot/`` except ``bot/channels`` and ``bot/nlu`` imports Rasa: the protocol can be read and
tested without it.
"""
