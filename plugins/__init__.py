"""Meldwijzer's plug-ins for the Rasa server, beside the pure core in ``bot/``: the input channels
(``plugins.channels``), the NLU components and the policy (``plugins.nlu``), the encrypted tracker store
and the lock store, and the pinned patches of the server process (``plugins.server``).

Only this package (and the action adapters in ``actions/``) may import Rasa, rasa-sdk or sanic; the
protocol in ``bot/`` knows none of them (tests/test_architecture.py).
"""
