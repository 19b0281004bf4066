"""Debug logging without what staff typed: the libraries' debug messages are withheld, ours are kept.

Why: at DEBUG, Rasa writes every user message ("Received user message '...'"), the slot values of the
conversation (a note's observations, the help plan) and the tracker into its log, and rasa-sdk logs the
requests it gets; the notes hold the most sensitive data a school has, and logs are copied, shipped and
kept far longer than a dossier. Our own modules never log user text (errors as type and place,
``bot.errors``), so their debug messages stay readable; a library's debug record keeps its logger name
and level, so an admin still sees what ran, but its text is replaced. Installed once per process by
both servers (``plugins.server.install``, ``actions/server.py``), before the first message.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

OWN_LOGGERS = ("bot", "plugins", "actions", "deploy")
WITHHELD = "(debug message withheld: it may hold what a user typed)"
_MARK = "_meldwijzer_withholds_library_debug"


def is_own(logger_name: str) -> bool:
    """Whether a logger is one of this product's modules (which never log user text)."""
    return any(logger_name == own or logger_name.startswith(own + ".") for own in OWN_LOGGERS)


def withhold_library_debug() -> None:
    """Replace the text of every DEBUG record of a logger outside this product, from now on (idempotent).

    A record factory, not a handler filter: it applies to every record of the process, whichever
    handler Rasa, Sanic or a test attaches later."""
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(previous, _MARK, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.levelno <= logging.DEBUG and not is_own(record.name):
            record.msg, record.args, record.exc_info, record.exc_text = WITHHELD, None, None, None
        return record

    setattr(factory, _MARK, True)
    logging.setLogRecordFactory(factory)
