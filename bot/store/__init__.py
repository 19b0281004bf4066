"""The case store: the source of truth for cases, notes, weighing decisions, follow-ups and practice.

Use ``bot.store.db.repositories()``; everything it returns is a plain frozen dataclass. Teacher text is
encrypted at rest (``crypto``). Nothing here imports Rasa: the Rasa tracker and lock stores configured in
endpoints.yml are plug-ins (``plugins.tracker_store``, ``plugins.lock_store``) that use this package.
"""
