"""Attack: the REST channel from outside, without a token, as another channel's user, with odd headers
and oversized fields. Every check runs before the NLU, so a refused request costs nothing."""

from __future__ import annotations

from typing import Any, Optional

import pytest

from bot.store.identities import stored_identity
from plugins.channels.identity import RestClientsError, rest_clients
from plugins.channels.rest import MAX_BODY_BYTES, MAX_SENDER_CHARS, Admitted, Refused, admit

OK_BODY = {"sender": "mentor-3", "message": "hallo"}
TWO_CLIENTS = {"MELDWIJZER_REST_CLIENTS": "lvs:aaaaaaaaaaaaaaaaaaaa,intranet:bbbbbbbbbbbbbbbbbbbb"}
LOCAL = {"MELDWIJZER_REST_LOCAL": "1"}


def result(env: dict, auth: Optional[str] = None, peer: str = "127.0.0.1", size: int = 40, body: Any = None):
    return admit(auth, rest_clients(env), peer, size, OK_BODY if body is None else body)


def status(*args: Any, **kwargs: Any) -> Optional[int]:
    outcome = result(*args, **kwargs)
    return outcome.status if isinstance(outcome, Refused) else None


def test_rest_is_off_unless_configured() -> None:
    assert status({}) == 403
    assert status({}, peer="10.0.0.8") == 403


@pytest.mark.parametrize("peer", ["10.0.0.8", "192.168.1.20", "2001:db8::1", "", "unknown"])
def test_local_mode_serves_only_this_machine(peer: str) -> None:
    assert status(LOCAL, peer=peer) == 403


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.0.0.2", "::1"])
def test_local_mode_serves_loopback_as_client_local(peer: str) -> None:
    assert result(LOCAL, peer=peer) == Admitted(stored_identity("rest:local:mentor-3"), "hallo")


def test_a_client_is_known_by_its_own_token_and_its_senders_stay_in_its_namespace() -> None:
    intranet = result(TWO_CLIENTS, auth="Bearer bbbbbbbbbbbbbbbbbbbb", peer="10.0.0.8").identity
    assert intranet == stored_identity("rest:intranet:mentor-3")
    assert result(TWO_CLIENTS, auth="Bearer aaaaaaaaaaaaaaaaaaaa", peer="10.0.0.8").identity == stored_identity(
        "rest:lvs:mentor-3"
    )
    assert status(TWO_CLIENTS, auth="Bearer cccccccccccccccccccc") == 401
    assert status(TWO_CLIENTS) == 401
    assert status({**TWO_CLIENTS, **LOCAL}) == 401  # once clients exist, local mode is off


@pytest.mark.parametrize(
    "impersonated",
    [
        "teams:tenant-1:6f1c0a52-aad",
        "web:juf.jansen@school.nl",
        "web:anon:3f9a",
        "rest:intranet:mentor-3",
        "teams:x:y\nrest:lvs:z",
    ],
)
def test_a_rest_sender_can_never_name_another_channels_user(impersonated: str) -> None:
    admitted = result(TWO_CLIENTS, auth="Bearer aaaaaaaaaaaaaaaaaaaa", body={"sender": impersonated, "message": "x"})
    assert admitted.identity == stored_identity(f"rest:lvs:{impersonated}")
    assert admitted.identity.startswith("rest:") and admitted.identity != stored_identity(impersonated)


@pytest.mark.parametrize(
    "header", ["Bearer sécret", "Bearer \u200baaaaaaaaaaaaaaaaaaaa", "Bearer \udcff", "Basic aaaaaaaaaaaaaaaaaaaa"]
)
def test_a_non_ascii_or_foreign_authorization_header_is_401_not_a_crash(header: str) -> None:
    assert status(TWO_CLIENTS, auth=header) == 401


def test_oversized_body_and_sender_are_refused() -> None:
    assert status(LOCAL, size=MAX_BODY_BYTES + 1) == 413
    assert status(LOCAL, body={"sender": "x" * (MAX_SENDER_CHARS + 1), "message": "hallo"}) == 400
    assert status(LOCAL, body={"sender": "x" * MAX_SENDER_CHARS, "message": "hallo"}) is None


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"message": "hallo"},
        {"sender": "  ", "message": "x"},
        {"sender": 5, "message": "x"},
        {"sender": "a", "message": {"text": "x"}},
    ],
)
def test_malformed_bodies_are_400(body: Any) -> None:
    assert status(LOCAL, body=body) == 400


@pytest.mark.parametrize(
    "value", ["lvs", "lvs:short", "LVS:aaaaaaaaaaaaaaaaaaaa", "a:aaaaaaaaaaaaaaaaaaaa,a:bbbbbbbbbbbbbbbbbbbb"]
)
def test_a_malformed_client_list_is_a_start_up_error(value: str) -> None:
    with pytest.raises(RestClientsError, match="MELDWIJZER_REST_CLIENTS"):
        rest_clients({"MELDWIJZER_REST_CLIENTS": value})
