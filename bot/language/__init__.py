"""Shared Dutch-language helpers: number words, yes/no answers, dates and times, working days.

Why one package: the same Dutch words were written out in several capabilities and drifted apart.
Every module here is pure (no Rasa, no store) and tested in tests/test_language.py.
"""
