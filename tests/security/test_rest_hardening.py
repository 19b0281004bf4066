"""Attack: the REST channel from outside, without a token, with odd headers and oversized fields.
Every check runs before the NLU, so a refused request costs nothing and tells nothing."""
from __future__ import annotations

from typing import Any, Optional

import pytest

from bot.channels.rest import MAX_BODY_BYTES, MAX_SENDER_CHARS, authorised, refusal

OK_BODY = {"sender": "mentor-3", "message": "hallo"}


def status(auth: Optional[str] = None, token: Optional[str] = None, peer: str = "127.0.0.1",
           size: int = 40, body: Any = None) -> Optional[int]:
    refused = refusal(auth, token, peer, size, OK_BODY if body is None else body)
    return refused[0] if refused else None


@pytest.mark.parametrize("peer", ["10.0.0.8", "192.168.1.20", "2001:db8::1", "", "unknown"])
def test_without_a_token_only_loopback_clients_are_served(peer: str) -> None:
    assert status(peer=peer) == 403


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.0.0.2", "::1"])
def test_without_a_token_loopback_clients_are_served(peer: str) -> None:
    assert status(peer=peer) is None


def test_with_a_token_remote_clients_need_it() -> None:
    assert status(peer="10.0.0.8", token="s3cret", auth="Bearer s3cret") is None
    assert status(peer="10.0.0.8", token="s3cret", auth="Bearer wrong") == 401
    assert status(peer="10.0.0.8", token="s3cret") == 401


@pytest.mark.parametrize("header", ["Bearer sécret", "Bearer \u200bs3cret", "Bearer \udcff", "Basic s3cret"])
def test_a_non_ascii_or_foreign_authorization_header_is_401_not_a_crash(header: str) -> None:
    assert authorised(header, "s3cret") is False
    assert status(auth=header, token="s3cret") == 401


def test_oversized_body_and_sender_are_refused() -> None:
    assert status(size=MAX_BODY_BYTES + 1) == 413
    assert status(body={"sender": "x" * (MAX_SENDER_CHARS + 1), "message": "hallo"}) == 400
    assert status(body={"sender": "x" * MAX_SENDER_CHARS, "message": "hallo"}) is None


@pytest.mark.parametrize("body", [None, [], {"message": "hallo"}, {"sender": "  ", "message": "x"},
                                  {"sender": 5, "message": "x"}, {"sender": "a", "message": {"text": "x"}}])
def test_malformed_bodies_are_400(body: Any) -> None:
    refused = refusal(None, None, "127.0.0.1", 10, body)
    assert refused is not None and refused[0] == 400
