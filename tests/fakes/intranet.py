"""A school's intranet as the web chat sees it: the staff token it signs for a signed-in colleague.

One helper for every test that needs such a token (the browser tests, the role tests), so they all sign
what a real intranet would: subject, expiry, this application's audience and the intranet's issuer.
"""

from __future__ import annotations

import time

import jwt


def staff_token(key: str, subject: str, audience: str, issuer: str, minutes: int = 10, **claims: object) -> str:
    """An HS256 token for ``subject``, valid for ``minutes`` (``claims``: more, e.g. the app ``roles``)."""
    return jwt.encode(
        {"sub": subject, "exp": int(time.time()) + minutes * 60, "aud": audience, "iss": issuer, **claims},
        key,
        algorithm="HS256",
    )
