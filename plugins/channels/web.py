"""Web chat channel: Rasa's socket.io protocol for the page at /chat and the embeddable widget.

What it adds to Rasa's ``SocketIOInput`` and why:
- Origin allowlist. Rasa creates its server with ``cors_allowed_origins=[]``, which *disables* the
  origin check, so any website a teacher visits could open a chat in their name. Here only the
  configured origins connect: credentials ``cors_allowed_origins``, else env MELDWIJZER_WEB_ORIGINS
  (comma-separated), else the server's own http://127.0.0.1:<port> and http://localhost:<port>.
- Identity. With ``jwt_key`` set (credentials, or env MELDWIJZER_WEB_JWT_KEY and MELDWIJZER_WEB_JWT_METHOD:
  an HS256 secret or an RS256 public key in PEM), a connection without a valid signed token (``sub``,
  ``exp`` and the configured ``aud`` and ``iss`` required: MELDWIJZER_WEB_JWT_AUDIENCE, _ISSUER) is
  refused, ``exp`` is checked again on every message, and the sender id is ``web:<sub>``: the staff member, whose
  case follows them between devices and Teams. The client's session id is then never trusted as an identity.
  Without a key (allowed only with MELDWIJZER_WEB_ANONYMOUS=1: a single-user trial on this machine) the
  sender id is the browser tab's random session id (a 32-hex id; anything else is replaced by a fresh
  one, so a client cannot pick someone else's readable id); after 30 minutes without a message that
  session ends and the next visitor starts a new one.
- Messages over MAX_MESSAGE_CHARS get a polite Dutch reply and never reach the NLU.
- Typed ``/intent{...}`` only runs when the bot offered that payload (plugins/channels/guard.py).
- Client-sent metadata is dropped: nothing a browser says may set slots behind the NLU's back.
- The page and widget files are served at /chat (plugins/channels/webpage.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Text, Union

import jwt
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, Sanic
from socketio import AsyncServer
from socketio import exceptions as sio_errors

from plugins.channels import WEB_CHANNEL
from plugins.channels.delivery import CountingOutput, deliver
from plugins.channels.identity import web_anonymous_identity, web_identity
from plugins.channels.limits import MAX_MESSAGE_CHARS, TOO_LONG_MESSAGE
from plugins.channels.webpage import page_blueprint
from bot.errors import describe
from bot.profiles import profile
from bot.store.db import repositories
from bot.profiles import ATTENTION_OFFICER

logger = logging.getLogger(__name__)

ORIGINS_ENV = "MELDWIJZER_WEB_ORIGINS"
JWT_KEY_ENV = "MELDWIJZER_WEB_JWT_KEY"
JWT_METHOD_ENV = "MELDWIJZER_WEB_JWT_METHOD"
JWT_AUDIENCE_ENV = "MELDWIJZER_WEB_JWT_AUDIENCE"
JWT_ISSUER_ENV = "MELDWIJZER_WEB_JWT_ISSUER"
JWT_ROLES_CLAIM_ENV = "MELDWIJZER_WEB_JWT_ROLES_CLAIM"
JWT_OFFICER_ROLE_ENV = "MELDWIJZER_WEB_JWT_ATTENTION_OFFICER_ROLE"
DEFAULT_ROLES_CLAIM = "roles"
EXPIRED_MESSAGE = "Uw aanmelding is verlopen. Laad de pagina opnieuw om verder te gaan; er is niets verloren."
# Without staff tokens a case is keyed to a browser tab: only for one person trying the bot locally.
ANONYMOUS_ENV = "MELDWIJZER_WEB_ANONYMOUS"
ANONYMOUS_IDLE_SECONDS = 30 * 60
SESSION_ID = re.compile(r"[0-9a-f]{32}")
# Rasa's built-in intent that starts a new dialogue session (default rule -> action_session_start).
NEW_SESSION_PAYLOAD = "/session_start"
# Sent after the last reply of a turn (Rasa's socket.io protocol has no such event; web/widget.js waits for it).
TURN_END_EVENT = "turn_end"
JWT_METHODS = ("HS256", "RS256")


def parse_origins(value: Union[str, Sequence[str]]) -> List[str]:
    """Origins as exact ``scheme://host[:port]`` strings; a wildcard is refused, it would undo the check."""
    items = value.split(",") if isinstance(value, str) else list(value)
    origins = [item.strip().rstrip("/") for item in items if item and item.strip()]
    if "*" in origins:
        raise ValueError("cors_allowed_origins must list origins; '*' would let any website use the chat")
    if not origins:
        raise ValueError(
            f"{ORIGINS_ENV} (or cors_allowed_origins) lists no origin; an empty list would switch the origin check off"
        )
    return origins


def default_origins() -> List[str]:
    """MELDWIJZER_WEB_ORIGINS, else this server's own loopback origins (port from RASA_PORT)."""
    configured = os.environ.get(ORIGINS_ENV, "")
    if configured.strip():
        return parse_origins(configured)
    port = os.environ.get("RASA_PORT", "5005")
    return [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]


@dataclass(frozen=True)
class TokenPolicy:
    """How staff tokens are checked: the key, its algorithm, and the audience and issuer they must name
    (a token the intranet signed for another application must not open the chat)."""

    key: str
    method: str
    audience: str
    issuer: str
    # The claim that lists the user's application roles, and the value in it that makes them the
    # aandachtsfunctionaris (None: roles come from `python -m bot roles` only).
    roles_claim: str = DEFAULT_ROLES_CLAIM
    attention_officer_value: Optional[str] = None

    @property
    def source(self) -> str:
        """The actor a grant from this issuer's tokens is audited under."""
        return f"jwt:{self.issuer}"


@dataclass(frozen=True)
class StaffToken:
    subject: str
    expires_at: float
    roles: FrozenSet[str] = frozenset()


def token_roles(claims: Mapping[str, Any], claim: str) -> FrozenSet[str]:
    """The application roles a token lists (Entra ID: ``roles``, a list; some IdPs send one string)."""
    value = claims.get(claim)
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, (list, tuple)):
        return frozenset()
    return frozenset(item for item in value if isinstance(item, str))


def verify_token(token: Any, policy: TokenPolicy) -> Optional[StaffToken]:
    """The staff member of a valid token, or None. Expired, unsigned, ``sub``-less tokens and tokens
    for another audience or from another issuer are refused."""
    if not isinstance(token, str) or not token:
        return None
    try:
        claims = jwt.decode(
            token,
            policy.key,
            algorithms=[policy.method],
            audience=policy.audience,
            issuer=policy.issuer,
            options={"require": ["sub", "exp", "aud", "iss"]},
        )
    except jwt.InvalidTokenError as error:
        logger.info("web: token refused (%s)", type(error).__name__)
        return None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        return None
    return StaffToken(subject, float(claims["exp"]), token_roles(claims, policy.roles_claim))


def token_policy(key: Optional[str], method: str) -> Optional[TokenPolicy]:
    """The policy from the environment; a key without audience and issuer is a start-up error."""
    if key is None:
        return None
    audience, issuer = os.environ.get(JWT_AUDIENCE_ENV, "").strip(), os.environ.get(JWT_ISSUER_ENV, "").strip()
    if not audience or not issuer:
        raise ValueError(
            f"{JWT_KEY_ENV} needs {JWT_AUDIENCE_ENV} and {JWT_ISSUER_ENV}: the 'aud' and 'iss' "
            "every staff token must carry"
        )
    officer = os.environ.get(JWT_OFFICER_ROLE_ENV, "").strip() or None
    claim = os.environ.get(JWT_ROLES_CLAIM_ENV, "").strip() or DEFAULT_ROLES_CLAIM
    return TokenPolicy(key, method, audience, issuer, claim, officer)


def sync_token_role(staff: StaffToken, policy: TokenPolicy, organisation_id: str) -> Optional[str]:
    """Make the role grant follow the token: the aandachtsfunctionaris role is given by the school's
    identity provider (the configured value in the roles claim) and taken back when a later token no
    longer carries it. Without a configured value nothing changes (`python -m bot roles` only)."""
    if policy.attention_officer_value is None:
        return None
    holds = policy.attention_officer_value in staff.roles
    change = repositories().roles.sync(
        web_identity(staff.subject), organisation_id, ATTENTION_OFFICER, holds, policy.source
    )
    if change:
        logger.info("web: %s %s from the token's %r claim", change, ATTENTION_OFFICER, policy.roles_claim)
    return change


async def idle_too_long(app: Any, session_id: str, now: Optional[float] = None) -> bool:
    """Whether an anonymous session's last event is more than ANONYMOUS_IDLE_SECONDS old. A conversation
    that cannot be read (the database is down) counts as idle: the tab starts a new session rather than
    risk handing the previous teacher's case to whoever sits at the PC now, and the page stays usable."""
    agent = getattr(app.ctx, "agent", None)
    if agent is None or agent.tracker_store is None:
        return False
    try:
        tracker = await agent.tracker_store.retrieve(web_anonymous_identity(session_id))
    except Exception as error:  # noqa: BLE001 - judged as idle, see above
        logger.warning("web: an anonymous session could not be read, a new one starts: %s", describe(error))
        return True
    if tracker is None or not tracker.events:
        return False
    return (now or time.time()) - tracker.events[-1].timestamp > ANONYMOUS_IDLE_SECONDS


def session_id_from(data: Any) -> Optional[str]:
    """The client's stored session id when it has our format, else None (a new session is made)."""
    requested = data.get("session_id") if isinstance(data, dict) else None
    return requested if isinstance(requested, str) and SESSION_ID.fullmatch(requested) else None


class WebOutput(CountingOutput, SocketIOOutput):
    """Rasa's socket.io output, counting replies (an empty answer gets the apology)."""


class WebBlueprint(SocketBlueprint):
    """Rasa's socket.io blueprint that also mounts the page blueprint (its own prefix, /chat)."""

    def __init__(self, sio: AsyncServer, socketio_path: Text, page: Blueprint, *args: Any, **kwargs: Any) -> None:
        super().__init__(sio, socketio_path, *args, **kwargs)
        self.ctx.page = page

    def register(self, app: Sanic, options: Dict[Text, Any]) -> None:
        super().register(app, options)
        app.blueprint(self.ctx.page)


class WebChatInput(SocketIOInput):
    """The web widget's channel (credentials key ``plugins.channels.web.WebChatInput``)."""

    @classmethod
    def name(cls) -> Text:
        return WEB_CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        origins = credentials.get("cors_allowed_origins")
        jwt_key = credentials.get("jwt_key") or os.environ.get(JWT_KEY_ENV) or None
        if jwt_key is None and os.environ.get(ANONYMOUS_ENV) != "1":
            raise ValueError(
                f"the web chat needs {JWT_KEY_ENV} (signed staff tokens, docs/WEB.md), or "
                f"{ANONYMOUS_ENV}=1 for a single-user trial on this machine"
            )
        return cls(
            allowed_origins=parse_origins(origins) if origins else default_origins(),
            jwt_key=jwt_key,
            jwt_method=credentials.get("jwt_method") or os.environ.get(JWT_METHOD_ENV) or "HS256",
            socketio_path=credentials.get("socketio_path", "/socket.io"),
        )

    def __init__(
        self,
        allowed_origins: Sequence[str],
        jwt_key: Optional[Text] = None,
        jwt_method: Text = "HS256",
        socketio_path: Text = "/socket.io",
    ) -> None:
        if jwt_method not in JWT_METHODS:
            raise ValueError(f"jwt_method must be one of {JWT_METHODS}, not {jwt_method!r}")
        super().__init__(session_persistence=True, socketio_path=socketio_path, jwt_key=jwt_key, jwt_method=jwt_method)
        self.allowed_origins = list(allowed_origins)
        self.token_policy = token_policy(jwt_key, jwt_method)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=self.allowed_origins)
        self.sio = sio
        webhook = WebBlueprint(
            sio, self.socketio_path, page_blueprint(self.allowed_origins), "meldwijzer_web", __name__
        )
        self._register_handlers(sio, webhook, on_new_message)
        return webhook

    def _register_handlers(
        self, sio: AsyncServer, webhook: Blueprint, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """The socket.io events: connect (auth), session_request (identity), user_uttered (message)."""

        @sio.on("connect")
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if self.token_policy:
                token = auth.get("token") if isinstance(auth, dict) else None
                staff = verify_token(token, self.token_policy)
                if staff is None:
                    raise sio_errors.ConnectionRefusedError("unauthorized")
                await asyncio.to_thread(sync_token_role, staff, self.token_policy, profile().id)
                await sio.save_session(sid, {"subject": staff.subject, "expires_at": staff.expires_at})
            return True

        @sio.on("session_request")
        async def session_request(sid: Text, data: Any) -> None:
            requested = session_id_from(data)
            if requested and not self.jwt_key and await idle_too_long(next(iter(webhook.apps)), requested):
                requested = None  # a shared PC's next user must not continue the previous teacher's case
            session_id = requested or uuid.uuid4().hex
            async with sio.session(sid) as session:
                if session.get("sender"):
                    await sio.leave_room(sid, session["sender"])
                subject = session.get("subject")
                session["sender"] = web_identity(subject) if subject else web_anonymous_identity(session_id)
                sender = session["sender"]
            # Awaited: python-socketio 5.12+ made this a coroutine (Rasa 3.6's own channel forgets to).
            await sio.enter_room(sid, sender)
            await sio.emit("session_confirm", session_id, room=sid)
            if self.jwt_key and requested is None:
                # A signed-in user keeps their identity; "Nieuw gesprek" starts a new Rasa session.
                await self._dispatch(on_new_message, sio, NEW_SESSION_PAYLOAD, sender, sid, expect_reply=False)

        @sio.on(self.user_message_evt)
        async def handle_message(sid: Text, data: Any) -> None:
            session = await sio.get_session(sid)
            sender = session.get("sender")
            text = data.get("message") if isinstance(data, dict) else None
            if sender is None or not isinstance(text, str) or not text.strip():
                logger.warning("web: message ignored (no session_request yet, or no text)")
                return
            if session.get("expires_at") is not None and time.time() >= session["expires_at"]:
                # The token was valid at connect; a socket kept open must not outlive it.
                await SocketIOOutput(sio, self.bot_message_evt).send_text_message(sid, EXPIRED_MESSAGE)
                await sio.emit(TURN_END_EVENT, room=sid)
                await sio.disconnect(sid)
                return
            if len(text) > MAX_MESSAGE_CHARS:
                await SocketIOOutput(sio, self.bot_message_evt).send_text_message(sid, TOO_LONG_MESSAGE)
                await sio.emit(TURN_END_EVENT, room=sid)
                return
            app = next(iter(webhook.apps))
            await self._dispatch(on_new_message, sio, text, sender, sid, guard_with=app)

    async def _dispatch(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        sio: AsyncServer,
        text: Text,
        sender: Text,
        sid: Text,
        expect_reply: bool = True,
        guard_with: Any = None,
    ) -> None:
        """Hand one message to Rasa; replies go to the sender's room (all their open tabs). A new
        session may rightly say nothing (no open follow-ups), so it gets no apology for silence.

        Rasa sends each action's messages as soon as that action has run, so one turn's replies arrive
        with pauses between them; ``TURN_END_EVENT`` tells the widget the turn is over (its "Meldwijzer
        schrijft…" line stays until then, and a screen reader hears when the answer is complete)."""
        output = WebOutput(sio, self.bot_message_evt)
        try:
            await deliver(
                UserMessage(text, output, sender, input_channel=self.name()),
                on_new_message,
                "web",
                expect_reply=expect_reply,
                guard_with=guard_with,
            )
        finally:
            await sio.emit(TURN_END_EVENT, room=sender)
