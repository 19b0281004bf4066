"""Logging an error without what the user typed.

Why: an exception's message can carry user text (a failed INSERT's parameters, a KeyError on a slot
value, a parser's complaint about the date a teacher typed). Logs are read by IT staff and copied into
tickets, so our handlers log the exception's type and where it was raised, never its message.
"""

from __future__ import annotations

import traceback


def where(exception: BaseException) -> str:
    """``file:line`` of the innermost frame: enough to find the bug, with no values from the request."""
    frames = traceback.extract_tb(exception.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "unknown"


def describe(exception: BaseException) -> str:
    """``TypeName at file:line``, safe for any log level."""
    return f"{type(exception).__name__} at {where(exception)}"
