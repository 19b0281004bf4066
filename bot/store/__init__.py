"""The case store: the source of truth for cases, notes, weighing decisions, follow-ups and practice.

Use ``bot.store.db.repositories()``; everything it returns is a plain frozen dataclass. Teacher text is
encrypted at rest (``crypto``). ``tracker_store`` and ``lock_store`` are the Rasa-side stores configured
in endpoints.yml; they are the only modules here that import Rasa, and nothing imports them eagerly.
"""
