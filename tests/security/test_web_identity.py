"""Attack: use the web chat as someone else. Without staff tokens a case is keyed to a browser tab, so
that mode must be asked for explicitly, and a tab left open on a shared staff-room PC must not hand the
previous teacher's case to the next person."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from plugins.channels.identity import web_anonymous_identity
from plugins.channels.web import ANONYMOUS_IDLE_SECONDS, WebChatInput, idle_too_long, parse_origins

SESSION = "0123456789abcdef0123456789abcdef"


def test_without_tokens_the_web_chat_refuses_to_start_unless_the_trial_mode_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MELDWIJZER_WEB_JWT_KEY", "MELDWIJZER_WEB_ANONYMOUS"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="MELDWIJZER_WEB_JWT_KEY"):
        WebChatInput.from_credentials(None)
    monkeypatch.setenv("MELDWIJZER_WEB_ANONYMOUS", "1")
    assert WebChatInput.from_credentials(None).jwt_key is None
    monkeypatch.delenv("MELDWIJZER_WEB_ANONYMOUS")
    monkeypatch.setenv("MELDWIJZER_WEB_JWT_KEY", "a-staff-token-key-of-sufficient-length")
    monkeypatch.setenv("MELDWIJZER_WEB_JWT_AUDIENCE", "meldwijzer")
    monkeypatch.setenv("MELDWIJZER_WEB_JWT_ISSUER", "https://intranet.school.nl")
    assert WebChatInput.from_credentials(None).jwt_key


@pytest.mark.parametrize("value", ["", ",", " , ", []])
def test_an_empty_origin_list_is_a_start_up_error(value) -> None:
    with pytest.raises(ValueError, match="MELDWIJZER_WEB_ORIGINS"):
        parse_origins(value)


class Store:
    def __init__(self, last_event_at: float) -> None:
        self.last_event_at, self.asked = last_event_at, []

    async def retrieve(self, sender_id: str):
        self.asked.append(sender_id)
        return SimpleNamespace(events=[SimpleNamespace(timestamp=self.last_event_at)])


def app_with(store: Store) -> SimpleNamespace:
    return SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(tracker_store=store)))


async def test_an_anonymous_session_idle_for_30_minutes_is_not_continued() -> None:
    now = time.time()
    stale, fresh = Store(now - ANONYMOUS_IDLE_SECONDS - 1), Store(now - 60)
    assert await idle_too_long(app_with(stale), SESSION, now) is True
    assert await idle_too_long(app_with(fresh), SESSION, now) is False
    assert stale.asked == [web_anonymous_identity(SESSION)]


def test_a_token_key_without_audience_and_issuer_is_a_start_up_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MELDWIJZER_WEB_JWT_KEY", "a-staff-token-key-of-sufficient-length")
    monkeypatch.delenv("MELDWIJZER_WEB_JWT_AUDIENCE", raising=False)
    monkeypatch.setenv("MELDWIJZER_WEB_JWT_ISSUER", "https://intranet.school.nl")
    with pytest.raises(ValueError, match="MELDWIJZER_WEB_JWT_AUDIENCE"):
        WebChatInput.from_credentials(None)
    monkeypatch.setenv("MELDWIJZER_WEB_JWT_AUDIENCE", "meldwijzer")
    assert WebChatInput.from_credentials(None).token_policy.audience == "meldwijzer"
