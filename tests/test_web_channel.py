"""The web channel's security decisions without a browser: which origins, tokens and session ids pass.

The browser tests (tests/e2e/test_web.py) show the same rules end to end; these pin the edge cases a
browser cannot easily produce (expired tokens, ``alg: none``, tokens without ``sub``, odd session ids).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import re
import time
import uuid
from datetime import timedelta
from types import SimpleNamespace

import jwt
import pytest
from pypdf import PdfReader
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sanic import Sanic

from bot import dossier
from plugins.channels.download import EXPIRED_MESSAGE, download
from plugins.channels.web import (
    TURN_END_EVENT,
    TokenPolicy,
    WebChatInput,
    default_origins,
    parse_origins,
    session_id_from,
    verify_token,
)
from plugins.channels.webpage import WEB_DIR, content_security_policy, page_blueprint
from bot.store.db import repositories

KEY = "unit-test-secret-long-enough-for-hs256-signing"
AUD, ISS = "meldwijzer", "https://intranet.school.nl"
POLICY = TokenPolicy(KEY, "HS256", AUD, ISS)


def token_subject(token: object, policy: TokenPolicy = POLICY):
    staff = verify_token(token, policy)
    return staff.subject if staff else None


def claims(**extra: object) -> dict:
    return {"aud": AUD, "iss": ISS, **extra}


def hs256(claims: dict, key: str = KEY) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


def forged_hs256(secret: bytes) -> str:
    """Built by hand: PyJWT itself refuses to use a PEM key as an HMAC secret."""

    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    payload = f'{{"sub":"attacker","exp":{in_ten_minutes()},"aud":"{AUD}","iss":"{ISS}"}}'.encode()
    body = part(b'{"alg":"HS256","typ":"JWT"}') + "." + part(payload)
    return body + "." + part(hmac.new(secret, body.encode(), hashlib.sha256).digest())


def in_ten_minutes() -> int:
    return int(time.time()) + 600


def test_origins_are_exact_and_a_wildcard_is_refused() -> None:
    assert parse_origins(" https://intranet.school.nl/ ,http://127.0.0.1:5005,") == [
        "https://intranet.school.nl",
        "http://127.0.0.1:5005",
    ]
    with pytest.raises(ValueError):
        parse_origins("https://intranet.school.nl,*")
    with pytest.raises(ValueError):
        WebChatInput.from_credentials({"cors_allowed_origins": ["*"]})


def test_default_origins_are_the_servers_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MELDWIJZER_WEB_ORIGINS", raising=False)
    monkeypatch.setenv("RASA_PORT", "5123")
    assert default_origins() == ["http://127.0.0.1:5123", "http://localhost:5123"]
    monkeypatch.setenv("MELDWIJZER_WEB_ORIGINS", "https://intranet.school.nl")
    monkeypatch.setenv("MELDWIJZER_WEB_ANONYMOUS", "1")
    assert WebChatInput.from_credentials(None).allowed_origins == ["https://intranet.school.nl"]


def test_token_subject_is_the_staff_member() -> None:
    assert token_subject(hs256(claims(sub="staff-1", exp=in_ten_minutes()))) == "staff-1"


@pytest.mark.parametrize(
    "token",
    [
        hs256(claims(sub="staff-1", exp=in_ten_minutes()), key="a-different-key-of-sufficient-length-x"),
        hs256(claims(sub="staff-1", exp=int(time.time()) - 60)),  # expired
        hs256(claims(sub="staff-1")),  # never expires: refused
        hs256(claims(exp=in_ten_minutes())),  # no subject
        hs256(claims(sub="   ", exp=in_ten_minutes())),  # blank subject
        hs256({"sub": "staff-1", "exp": in_ten_minutes(), "iss": ISS}),  # no audience
        hs256({"sub": "staff-1", "exp": in_ten_minutes(), "aud": AUD}),  # no issuer
        hs256(claims(sub="staff-1", exp=in_ten_minutes(), aud="another-app")),  # signed for another app
        hs256(claims(sub="staff-1", exp=in_ten_minutes(), iss="https://elsewhere.example")),
        jwt.encode(claims(sub="staff-1", exp=in_ten_minutes()), None, algorithm="none"),  # unsigned
        "not-a-token",
        None,
    ],
    ids=[
        "other-key",
        "expired",
        "no-expiry",
        "no-subject",
        "blank-subject",
        "no-audience",
        "no-issuer",
        "other-audience",
        "other-issuer",
        "unsigned",
        "not-a-token",
        "none",
    ],
)  # stable: the tokens hold the time
def test_bad_tokens_give_no_subject(token: object) -> None:
    assert token_subject(token) is None


def test_rs256_tokens_are_checked_with_the_public_key() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    token = jwt.encode(claims(sub="staff-rs", exp=in_ten_minutes()), private, algorithm="RS256")
    rs256 = TokenPolicy(public_pem, "RS256", AUD, ISS)
    assert token_subject(token, rs256) == "staff-rs"
    # Algorithm confusion: an HS256 token "signed" with the (public) key must not pass as RS256.
    assert token_subject(forged_hs256(public_pem.encode()), rs256) is None
    with pytest.raises(ValueError):
        WebChatInput(allowed_origins=[], jwt_key=public_pem, jwt_method="none")


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"session_id": "0123456789abcdef0123456789abcdef"}, "0123456789abcdef0123456789abcdef"),
        ({"session_id": "teacher-of-group-7"}, None),  # a readable id someone could guess is replaced
        ({"session_id": "0123456789ABCDEF0123456789ABCDEF"}, None),
        ({"session_id": None}, None),
        ("0123456789abcdef0123456789abcdef", None),
        (None, None),
    ],
)
def test_only_random_session_ids_are_kept(data: object, expected: object) -> None:
    assert session_id_from(data) == expected


def test_page_policy_allows_only_this_server_and_the_intranet_to_frame_it() -> None:
    csp = content_security_policy(["https://intranet.school.nl"])
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp
    assert csp.endswith("frame-ancestors 'self' https://intranet.school.nl")


# --- dossier download (GET /chat/dossier/<token>/<pdf|md>) -------------------------------------------


async def test_a_download_link_gives_the_file_to_its_holder_without_caching() -> None:
    repos = repositories()
    case = repos.cases.create("web:abc", "national", "Leerling QX7P")
    token = dossier.download_token(dossier.Grant(case.id, "web:abc", None))

    pdf = await download(None, token, "pdf")
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    assert pdf.headers["Cache-Control"] == "no-store"
    assert pdf.headers["Content-Disposition"].startswith('attachment; filename="dossier-leerling-qx7p-')
    assert "Leerling QX7P" in PdfReader(io.BytesIO(pdf.body)).pages[0].extract_text()
    md = await download(None, token, "md")
    assert md.status == 200 and md.body.decode().startswith("# Dossieroverzicht meldcode")


async def test_a_bad_or_foreign_download_link_is_refused_in_dutch() -> None:
    repos = repositories()
    case = repos.cases.create("web:abc", "national", "Leerling QX7P")
    assert (await download(None, "vervalst", "pdf")).status == 410
    good = dossier.download_token(dossier.Grant(case.id, "web:abc", None))
    assert (await download(None, good, "exe")).status == 404
    stolen = dossier.download_token(dossier.Grant(case.id, "web:someone-else", None))
    refused = await download(None, stolen, "pdf")
    assert refused.status == 404 and refused.body.decode() == EXPIRED_MESSAGE
    repos.cases.close(case.id)
    repos.purge_closed_cases(timedelta(0))
    assert (await download(None, good, "pdf")).status == 404  # purged since the link was made


# --- the overview page (GET /chat/overzicht/<token>) and the widget's own promises -------------------


def routed(path: str):
    """The handler and arguments the chat blueprint gives a GET of ``path`` (as the Rasa server would)."""
    app = Sanic(f"t{uuid.uuid4().hex}")
    app.blueprint(page_blueprint([]))
    app.router.finalize()
    route, handler, params = app.router.get(path, "GET", None)
    return route.name, handler, params


async def test_the_overview_page_is_mounted_next_to_the_chat_and_refuses_a_bad_link_in_dutch() -> None:
    name, handler, params = routed("/chat/overzicht/vervalst")
    assert name.endswith("overview_page") and params == {"token": "vervalst"}
    gone = await handler(SimpleNamespace(args={}), **params)
    assert gone.status == 410 and gone.headers["Cache-Control"] == "no-store"
    body = gone.body.decode()
    assert '<html lang="nl">' in body and "verlopen of ongeldig" in body
    assert "frame-ancestors 'none'" in gone.headers["Content-Security-Policy"]
    _, css, _ = routed("/chat/overzicht.css")
    style = await css(None)
    assert style.content_type.startswith("text/css") and b"@media print" in style.body


def test_the_widget_root_is_dutch_and_the_focus_ring_meets_3_to_1() -> None:
    script = (WEB_DIR / "widget.js").read_text(encoding="utf-8")
    assert re.search(r'el\("div", \{ class: "mw-root [^}]*lang: "nl" \}', script)
    css = (WEB_DIR / "widget.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--mw-([a-z-]+): (#[0-9a-f]{6});", css))
    light = ["#ffffff", colours["bot"], colours["user"], "#fff4d6", "#e9edf2"]
    dark = [colours["brand"], colours["alert"]]
    assert min(contrast(colours["focus"], bg) for bg in light) >= 3
    assert min(contrast(colours["focus-on-dark"], bg) for bg in dark) >= 3
    on_dark = ".mw-header :focus-visible, .mw-root .mw-alert :focus-visible { outline-color: var(--mw-focus-on-dark); }"
    assert on_dark in css


def contrast(first: str, second: str) -> float:
    """WCAG 2.1 contrast ratio of two sRGB colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


class RecordingSocketServer:
    """The two calls of python-socketio's AsyncServer that the web channel's dispatch makes."""

    def __init__(self) -> None:
        self.emitted: list = []

    async def emit(self, event: str, data: object = None, room: str = "") -> None:
        self.emitted.append((event, (data or {}).get("text") if isinstance(data, dict) else data, room))


@pytest.mark.parametrize("handler_fails", [False, True])
async def test_the_turn_ends_after_its_last_reply_even_when_the_handling_fails(handler_fails: bool) -> None:
    """Rasa sends each action's messages when that action has run; the widget keeps "Meldwijzer schrijft…"
    until turn_end, so a reply in parts is not read (or answered) before it is complete."""
    sio = RecordingSocketServer()

    async def two_actions(message) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": "Stap 1: ..."})
        await asyncio.sleep(0.01)
        await message.output_channel.send_response(message.sender_id, {"text": "Wat is uw rol?"})
        if handler_fails:
            raise RuntimeError("action server down")

    channel = WebChatInput(allowed_origins=["http://127.0.0.1:5005"])
    await channel._dispatch(two_actions, sio, "ik maak me zorgen", "web:juf", "sid-1")
    assert [event for event, _, _ in sio.emitted] == ["bot_uttered", "bot_uttered", TURN_END_EVENT]
    assert sio.emitted[:2] == [("bot_uttered", "Stap 1: ...", "web:juf"), ("bot_uttered", "Wat is uw rol?", "web:juf")]
    assert sio.emitted[-1][2] == "web:juf"  # every open tab of this staff member
    script = (WEB_DIR / "widget.js").read_text(encoding="utf-8")
    assert f'socket.on("{TURN_END_EVENT}", function () {{ setStatus(TEXT.connected); }});' in script


async def test_an_anonymous_session_that_cannot_be_read_starts_anew() -> None:
    """Database down when a shared PC's tab reconnects: a new session, never the previous teacher's case
    by default, and no exception that would leave the page without a session."""
    from types import SimpleNamespace

    from plugins.channels.web import idle_too_long

    class Down:
        async def retrieve(self, sender_id: str) -> None:
            raise ConnectionRefusedError("database down")

    class Empty:
        async def retrieve(self, sender_id: str) -> None:
            return None

    def app(store: object) -> object:
        return SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(tracker_store=store)))

    assert await idle_too_long(app(Down()), "a" * 32) is True
    assert await idle_too_long(app(Empty()), "a" * 32) is False  # a session with nothing in it yet
