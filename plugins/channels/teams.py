"""Microsoft Teams channel: our own Bot Framework connector at /webhooks/teams/webhook.

Why not Rasa's ``botframework`` channel: it asks the multi-tenant token endpoint
(login.microsoftonline.com/botframework.com) for its access token, which Azure refuses for bots created
since July 2025 (new bots are single-tenant); it calls blocking ``requests`` inside Sanic's event loop, so
one slow Microsoft endpoint stalls every conversation; and it passes Rasa buttons through as raw dicts,
which Teams does not show as card actions. This connector:

- checks every request: a JWT from the Bot Connector, signed with a key from the Bot Framework OpenID
  metadata, for our app id, stating the activity's ``serviceUrl`` (the body is not signed, so without this
  anybody could make us post our access token to a server of their choosing);
- keys the conversation by the user's Entra (AAD) object id, so a case survives a new chat and a switch
  between Teams and the web;
- answers only in personal chats: a case about a child must not be discussed in a team channel;
- shows Rasa buttons as a Hero card with ``messageBack`` actions that carry the payload in ``value``;
  a click and a typed title both pass the shared guard (plugins/channels/guard.py), which reads what the bot
  offered from the tracker store, so a click works after a restart and at any replica;
- acknowledges an activity at once and works on it in the background (the Bot Connector retries what
  it got no answer for within 15 s), taking each activity on once: the claim is a row in the case
  store (``seen_activities``), not process memory, so a retry that reaches another replica is
  recognised too (the database is the one thing every replica shares; Redis is optional);
- greets the user with the main buttons when the app is installed or the chat starts, shows "typing"
  while Rasa works, and retries the Bot Connector on 429/5xx with back-off (honouring Retry-After);
- stores the user's conversation reference (encrypted) so reminders can reach them (bot/reminders.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Set, Text, Tuple
from urllib.parse import quote

import aiohttp
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from yarl import URL

from bot import reminders
from plugins.channels.delivery import NOT_PROCESSED_MESSAGE, CountingOutput, deliver
from plugins.channels.identity import teams_identity
from plugins.channels.limits import MAX_MESSAGE_CHARS, TOO_LONG_MESSAGE
from bot.errors import describe
from bot.store.models import utcnow
from bot.store.repositories import Repositories

logger = logging.getLogger(__name__)

DEFAULT_OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
DEFAULT_TOKEN_ENDPOINT = "https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
# Environment variables win over credentials.yml, so secrets need not be written in a file.
ENV_OVERRIDES = {
    "app_id": "MICROSOFT_APP_ID",
    "app_password": "MICROSOFT_APP_PASSWORD",
    "tenant_id": "MICROSOFT_APP_TENANT_ID",
}
# The claim in which the Bot Connector states the conversation's service URL (lower case, as in the SDKs).
SERVICE_URL_CLAIM = "serviceurl"
CLOCK_SKEW_SECONDS = 300  # the Bot Framework protocol allows five minutes
KEYS_TTL_SECONDS = 24 * 3600  # Microsoft rotates signing keys rarely and announces them a day ahead
KEYS_COOLDOWN_SECONDS = 300  # an unknown key id may trigger one refetch per five minutes, no more
TOKEN_RENEW_MARGIN_SECONDS = 300  # renew an access token five minutes before it expires
HTTP_TIMEOUT_SECONDS = 15
MAX_REPLY_CHARS = 3500  # well under Teams' ~28 KB message limit, and still readable
MAX_CARD_BUTTONS = 6  # Teams shows at most six buttons on a Hero card
SEND_ATTEMPTS = 4  # one try and three retries on 429/5xx, then the reply is given up
MAX_RETRY_DELAY_SECONDS = 30.0  # a longer Retry-After is capped: the user is waiting
TYPING_REPEAT_SECONDS = 3.0  # Teams shows "typing" for about three seconds per activity
SEEN_ACTIVITY_DAYS = 2  # retries come within minutes; older claims are dropped
CHANNEL = "teams"
# Rasa's greeting (rule greet -> utter_greet: the three main buttons); sent by the channel itself.
WELCOME_PAYLOAD = "/greet"
HERO_CARD = "application/vnd.microsoft.card.hero"
SHARED_CONVERSATION_TYPES = frozenset({"groupChat", "channel"})
PERSONAL_ONLY_MESSAGE = (
    "Meldwijzer werkt alleen in een persoonlijke chat, zodat gegevens over een leerling vertrouwelijk "
    "blijven. Opent u een chat met Meldwijzer zelf?"
)
MENTION = re.compile(r"<at\b[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
HORIZONTAL_SPACE = re.compile(r"[ \t\u00a0]+")
# From coarse to fine: where a long reply may be cut. The last resort is a cut at the limit.
SPLIT_POINTS = (
    re.compile(r"(\n[ \t]*\n\s*)"),  # paragraphs
    re.compile(r"(\n)"),  # lines
    re.compile(r"((?<=[.!?:;])\s+)"),  # sentences
    re.compile(r"(\s+)"),  # words
)


class AuthError(Exception):
    """The request does not carry a valid Bot Connector token for this bot."""


class KeysUnavailable(Exception):
    """The signing keys could not be fetched, so no request can be checked right now."""


class SendError(Exception):
    """The Bot Connector or the token endpoint refused a request."""


@dataclass(frozen=True)
class TeamsSettings:
    """Everything the connector needs from credentials.yml and the environment."""

    app_id: str
    app_password: str
    tenant_id: str
    openid_metadata_url: str = DEFAULT_OPENID_METADATA_URL
    token_endpoint: str = DEFAULT_TOKEN_ENDPOINT
    allowed_service_urls: Tuple[str, ...] = ()

    @property
    def token_url(self) -> str:
        """The single-tenant endpoint: new bots may only get tokens from their own tenant."""
        return self.token_endpoint.format(tenant_id=self.tenant_id)

    @classmethod
    def load(cls, credentials: Mapping[str, Any], environ: Mapping[str, str]) -> Optional[TeamsSettings]:
        """Settings, or None when nothing is configured (the channel then stays off).

        A partial configuration is an error rather than "off": a missing tenant id would otherwise only
        show up as failed replies in production.
        """
        secrets = {key: environ.get(env) or credentials.get(key) or "" for key, env in ENV_OVERRIDES.items()}
        if not any(secrets.values()):
            return None
        missing = [f"{key} ({ENV_OVERRIDES[key]})" for key, value in secrets.items() if not value]
        if missing:
            raise RasaException(f"Teams channel: missing {', '.join(missing)}; see docs/TEAMS.md.")
        return cls(
            **secrets,
            openid_metadata_url=credentials.get("openid_metadata_url") or DEFAULT_OPENID_METADATA_URL,
            token_endpoint=credentials.get("token_endpoint") or DEFAULT_TOKEN_ENDPOINT,
            allowed_service_urls=tuple(credentials.get("allowed_service_urls") or ()),
        )


class HttpSession:
    """One aiohttp session per channel, opened on first use inside the server's event loop."""

    def __init__(self) -> None:
        self._session: Optional[aiohttp.ClientSession] = None

    def get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def fetch_json(http: HttpSession, url: str) -> Dict[str, Any]:
    async with http.get().get(url) as reply:
        reply.raise_for_status()
        return await reply.json(content_type=None)


class SigningKeys:
    """The Bot Framework's token issuer and signing keys, from its OpenID metadata, cached.

    Keys are fetched again after a day, or earlier when a token names a key we do not know (Microsoft
    rotated). That early refetch is limited to one per cooldown, so forged key ids cannot make us hammer
    Microsoft's endpoint.
    """

    def __init__(self, metadata_url: str, http: HttpSession, clock: Callable[[], float]) -> None:
        self._metadata_url = metadata_url
        self._http = http
        self._clock = clock
        self._issuer: Optional[str] = None
        self._keys: Dict[str, Dict[str, Any]] = {}
        self._loaded_at = float("-inf")
        self._attempted_at: Optional[float] = None
        self._lock = asyncio.Lock()

    async def lookup(self, kid: Optional[str]) -> Tuple[str, Optional[Dict[str, Any]]]:
        """The issuer and the key with this id (None when unknown)."""
        async with self._lock:
            if self._needs_refresh(kid):
                await self._refresh()
        if self._issuer is None:
            raise KeysUnavailable(self._metadata_url)
        return self._issuer, self._keys.get(kid or "")

    def _needs_refresh(self, kid: Optional[str]) -> bool:
        now = self._clock()
        if self._attempted_at is None:
            return True
        if now - self._attempted_at < KEYS_COOLDOWN_SECONDS:
            return False
        return now - self._loaded_at > KEYS_TTL_SECONDS or (kid or "") not in self._keys

    async def _refresh(self) -> None:
        self._attempted_at = self._clock()
        try:
            metadata = await fetch_json(self._http, self._metadata_url)
            jwks = await fetch_json(self._http, metadata["jwks_uri"])
            keys = {key["kid"]: key for key in jwks["keys"]}
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, KeyError, TypeError) as error:
            logger.warning("teams: could not fetch signing keys from %s: %r", self._metadata_url, error)
            return
        self._issuer, self._keys, self._loaded_at = metadata["issuer"], keys, self._attempted_at


def bearer_token(authorization: Optional[str]) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("no bearer token")
    return token.strip()


class RequestVerifier:
    """Checks a request the way the Bot Framework authentication protocol prescribes."""

    def __init__(self, settings: TeamsSettings, keys: SigningKeys) -> None:
        self._settings = settings
        self._keys = keys

    async def verify(self, authorization: Optional[str], activity: Mapping[str, Any]) -> Dict[str, Any]:
        """The token's claims; raises AuthError when any check fails."""
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise AuthError(f"malformed token: {error}") from error
        if header.get("alg") != "RS256":
            raise AuthError(f"unexpected algorithm {header.get('alg')!r}")
        issuer, key = await self._keys.lookup(header.get("kid"))
        if key is None:
            raise AuthError("token signed with an unknown key")
        check_endorsement(key, activity.get("channelId"))
        claims = self._decode(token, key, issuer)
        self._check_service_url(claims, activity.get("serviceUrl"))
        return claims

    def _decode(self, token: str, key: Dict[str, Any], issuer: str) -> Dict[str, Any]:
        public_key = RSAAlgorithm.from_jwk(key)
        if not isinstance(public_key, RSAPublicKey):  # a published signing key is never a private one
            raise AuthError("the signing key is not an RSA public key")
        try:
            return jwt.decode(
                token,
                key=public_key,
                algorithms=["RS256"],
                audience=self._settings.app_id,
                issuer=issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise AuthError(f"invalid token: {error}") from error

    def _check_service_url(self, claims: Mapping[str, Any], service_url: Any) -> None:
        if not service_url or claims.get(SERVICE_URL_CLAIM) != service_url:
            raise AuthError("serviceUrl of the activity is not the one in the token")
        allowed = self._settings.allowed_service_urls
        if allowed and not any(service_url.startswith(prefix) for prefix in allowed):
            raise AuthError(f"serviceUrl {service_url} is not an allowed service URL")


def check_endorsement(key: Mapping[str, Any], channel_id: Any) -> None:
    """A key lists the channels it may sign for; a key for Web Chat must not vouch for Teams."""
    endorsements = key.get("endorsements")
    if channel_id and endorsements is not None and channel_id not in endorsements:
        raise AuthError(f"signing key is not endorsed for channel {channel_id!r}")


class AccessTokens:
    """Client-credentials tokens from the single-tenant endpoint, kept until shortly before expiry."""

    def __init__(self, settings: TeamsSettings, http: HttpSession, clock: Callable[[], float]) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock
        self._token: Optional[str] = None
        self._renew_at = float("-inf")
        self._lock = asyncio.Lock()

    async def bearer(self) -> str:
        async with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._token = await self._fetch()
            return self._token

    def forget(self) -> None:
        """Drop the token after the Bot Connector refused it (e.g. the secret was rotated)."""
        self._token = None

    async def _fetch(self) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._settings.app_id,
            "client_secret": self._settings.app_password,
            "scope": BOT_FRAMEWORK_SCOPE,
        }
        async with self._http.get().post(self._settings.token_url, data=form) as reply:
            body = await reply.json(content_type=None)
        if reply.status != 200 or "access_token" not in body:
            raise SendError(f"token endpoint answered {reply.status} {body.get('error', '')}".strip())
        self._renew_at = self._clock() + max(int(body.get("expires_in", 0)) - TOKEN_RENEW_MARGIN_SECONDS, 0)
        return str(body["access_token"])


def split_text(text: str, limit: int = MAX_REPLY_CHARS) -> List[str]:
    """Cut a long reply into messages under ``limit``, at paragraphs, else lines, sentences, words."""
    text = text.strip()
    return _split(text, limit, 0) if text else []


def _split(text: str, limit: int, level: int) -> List[str]:
    if len(text) <= limit:
        return [text]
    if level == len(SPLIT_POINTS):
        return [text[start : start + limit] for start in range(0, len(text), limit)]
    pieces = SPLIT_POINTS[level].split(text)  # text, separator, text, separator, ..., text
    chunks: List[str] = []
    current = ""
    for index in range(0, len(pieces), 2):
        separator, unit = (pieces[index - 1] if index else ""), pieces[index]
        if current and len(current) + len(separator) + len(unit) <= limit:
            current += separator + unit
            continue
        chunks.append(current)
        current = unit if len(unit) <= limit else ""
        if not current:
            chunks.extend(_split(unit.strip(), limit, level + 1))
    chunks.append(current)
    return [chunk.strip() for chunk in chunks if chunk.strip()]


def clean_text(text: str) -> str:
    """The user's words: without ``<at>`` mentions (markup for Teams, and other people's names)."""
    return HORIZONTAL_SPACE.sub(" ", MENTION.sub(" ", text)).strip()


def card_action(button: Mapping[str, Any]) -> Dict[str, Any]:
    """A link opens in the browser; a payload comes back in ``value`` (messageBack), the title shown as
    what the user said. A button with a ready ``value`` (a reminder's) carries that value as is."""
    title = str(button.get("title", ""))
    if button.get("url"):
        return {"type": "openUrl", "title": title, "value": str(button["url"])}
    ready = button.get("value")
    value = dict(ready) if isinstance(ready, Mapping) else {"payload": str(button.get("payload", ""))}
    return {"type": "messageBack", "title": title, "text": title, "displayText": title, "value": value}


def hero_cards(text: str, buttons: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """The text with its buttons as Hero cards; buttons beyond six go on follow-up cards."""
    actions = [card_action(button) for button in buttons]
    groups = [actions[start : start + MAX_CARD_BUTTONS] for start in range(0, len(actions), MAX_CARD_BUTTONS)]
    first, *rest = groups or [[]]
    cards = [{"text": text, "buttons": first}] + [{"buttons": group} for group in rest]
    return [{"contentType": HERO_CARD, "content": card} for card in cards]


@dataclass(frozen=True)
class ReplyTarget:
    """Where and to whom replies go: in reply to one incoming activity, or (no activity id) proactively."""

    service_url: str
    conversation_id: str
    activity_id: str
    bot: Dict[str, Any]
    user: Dict[str, Any]

    @classmethod
    def of(cls, activity: Mapping[str, Any]) -> ReplyTarget:
        return cls(
            service_url=str(activity["serviceUrl"]),
            conversation_id=str(activity["conversation"]["id"]),
            activity_id=str(activity.get("id", "")),
            bot=dict(activity.get("recipient") or {}),
            user=dict(activity.get("from") or {}),
        )

    @classmethod
    def proactive(cls, reference: Mapping[str, Any]) -> ReplyTarget:
        """A new message in the stored conversation (see ``conversation_reference``), replying to nothing."""
        return cls(
            str(reference["service_url"]),
            str(reference["conversation_id"]),
            "",
            dict(reference["bot"]),
            dict(reference["user"]),
        )

    @property
    def url(self) -> URL:
        """POST {serviceUrl}/v3/conversations/{id}/activities[/{replyToId}]; Teams ids contain ':' and ';'."""
        conversation = quote(self.conversation_id, safe="")
        path = f"v3/conversations/{conversation}/activities"
        if self.activity_id:
            path += f"/{quote(self.activity_id, safe='')}"
        return URL(f"{self.service_url.rstrip('/')}/{path}", encoded=True)

    def routing(self) -> Dict[str, Any]:
        routing = {"from": self.bot, "recipient": self.user, "conversation": {"id": self.conversation_id}}
        return {**routing, "replyToId": self.activity_id} if self.activity_id else routing


def retry_after_seconds(header: Optional[str]) -> Optional[float]:
    """A Retry-After header in seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    value = (header or "").strip()
    if value.isdigit():
        return float(value)
    try:
        return (parsedate_to_datetime(value) - utcnow()).total_seconds()
    except (TypeError, ValueError, IndexError):
        return None


def retry_delay(retry_after: Optional[str], attempt: int) -> float:
    """Seconds to wait before the next try: the Bot Connector's Retry-After when it sends one, else
    exponential back-off (1, 2, 4 s); never more than the cap."""
    delay = retry_after_seconds(retry_after)
    return min(max(float(2**attempt) if delay is None else delay, 0.0), MAX_RETRY_DELAY_SECONDS)


class BotConnector:
    """Posts activities to the Bot Connector with the bot's access token, retrying throttling and
    server errors a bounded number of times (the user gets the reply late rather than never)."""

    def __init__(
        self, tokens: AccessTokens, http: HttpSession, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    ) -> None:
        self._tokens = tokens
        self._http = http
        self._sleep = sleep

    async def post(self, url: URL, activity: Dict[str, Any], attempts: int = SEND_ATTEMPTS) -> None:
        for attempt in range(attempts):
            delay = await self._try(url, activity, last=attempt == attempts - 1, attempt=attempt)
            if delay is None:
                return
            await self._sleep(delay)

    async def _try(self, url: URL, activity: Dict[str, Any], last: bool, attempt: int) -> Optional[float]:
        """None when delivered; the delay before the next try when worth one; else SendError."""
        headers = {"Authorization": f"Bearer {await self._tokens.bearer()}"}
        async with self._http.get().post(url, json=activity, headers=headers) as reply:
            if reply.status < 300:
                return None
            if reply.status == 401:
                self._tokens.forget()
            logger.debug("teams: Bot Connector answered %s: %s", reply.status, await reply.text())
            if last or not (reply.status == 429 or reply.status >= 500):
                raise SendError(f"Bot Connector answered {reply.status}")
            return retry_delay(reply.headers.get("Retry-After"), attempt)


class TeamsOutput(CountingOutput, OutputChannel):
    """Sends Rasa's replies to one Teams conversation through the Bot Connector."""

    def __init__(self, target: ReplyTarget, connector: BotConnector) -> None:
        self.target = target
        self._connector = connector

    @classmethod
    def name(cls) -> Text:
        return TeamsInput.name()

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for chunk in split_text(text):
            await self._post({"text": chunk})

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        *leading, last = split_text(text or "") or [""]
        for chunk in leading:
            await self._post({"text": chunk})
        await self._post({"attachments": hero_cards(last, buttons), "attachmentLayout": "list"})

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._post({"attachments": [{"contentType": HERO_CARD, "content": {"images": [{"url": image}]}}]})

    async def send_attachment(self, recipient_id: Text, attachment: Any, **kwargs: Any) -> None:
        """A ready Bot Framework attachment (e.g. an Adaptive Card) as is; anything else as text."""
        if isinstance(attachment, Mapping) and "contentType" in attachment:
            await self._post({"attachments": [dict(attachment)]})
        else:
            await self.send_text_message(recipient_id, str(attachment))

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """Activity fields from a ``custom`` response; it cannot redirect the reply elsewhere."""
        await self._post(dict(json_message))

    async def send_typing(self) -> None:
        """The typing indicator: one try, no retries (it is stale by the time a retry would land)."""
        await self.post({"type": "typing"}, attempts=1)

    async def _post(self, fields: Dict[str, Any]) -> None:
        await self.post({"type": "message", **fields})

    async def post(self, fields: Dict[str, Any], attempts: int = SEND_ATTEMPTS) -> bool:
        """Send one activity to the target; False (logged, without its text) when it could not be sent."""
        activity = {**fields, **self.target.routing()}
        try:
            await self._connector.post(self.target.url, activity, attempts)
        except (aiohttp.ClientError, asyncio.TimeoutError, SendError, ValueError) as error:
            # Never the message text: it may describe a child. The conversation id suffices to trace.
            logger.error("teams: reply in conversation %s failed: %r", self.target.conversation_id, error)
            return False
        return True


def sender_id(activity: Mapping[str, Any]) -> str:
    """The user's Entra object id: the same person in every chat, on every device."""
    user = activity.get("from") or {}
    return str(user.get("aadObjectId") or user.get("id") or "")


def tenant_id(activity: Mapping[str, Any]) -> Optional[str]:
    tenant = ((activity.get("channelData") or {}).get("tenant") or {}).get("id")
    return tenant or (activity.get("conversation") or {}).get("tenantId")


def conversation_reference(activity: Mapping[str, Any]) -> Dict[str, Any]:
    """What a proactive message needs: the service URL, the conversation, the tenant and both accounts."""
    target = ReplyTarget.of(activity)
    return {
        "service_url": target.service_url,
        "conversation_id": target.conversation_id,
        "tenant_id": tenant_id(activity),
        "bot": target.bot,
        "user": target.user,
    }


def activity_key(activity: Mapping[str, Any]) -> Optional[str]:
    """A hash of conversation and activity id (ids are unique per conversation); None without an id.
    A welcome counts once per conversation: installing a personal app sends both an installationUpdate
    and a conversationUpdate, and the user should be greeted once."""
    activity_id = "welcome" if is_welcome(activity) else activity.get("id")
    if not activity_id:
        return None
    conversation = (activity.get("conversation") or {}).get("id", "")
    return hashlib.sha256(f"{CHANNEL}|{conversation}|{activity_id}".encode()).hexdigest()


def is_welcome(activity: Mapping[str, Any]) -> bool:
    """The app was installed, or the bot was added to a chat: the moment to greet."""
    kind = activity.get("type")
    if kind == "installationUpdate":
        return activity.get("action") == "add"
    if kind == "conversationUpdate":
        bot_id = (activity.get("recipient") or {}).get("id")
        return any((member or {}).get("id") == bot_id for member in activity.get("membersAdded") or [])
    return False


def clicked_value(activity: Mapping[str, Any]) -> Dict[str, Any]:
    """The ``value`` of a messageBack click (a payload, or a reminder action); {} for typed text."""
    value = activity.get("value")
    return dict(value) if isinstance(value, Mapping) else {}


def default_store() -> Repositories:
    """The process-wide case store (imported here, late: the channel must load without a database)."""
    from bot.store.db import repositories

    return repositories()


class TeamsConnector:
    """The configured channel: checks a request, acknowledges it, then works on it in the background."""

    def __init__(
        self,
        settings: TeamsSettings,
        clock: Callable[[], float] = time.monotonic,
        store: Callable[[], Repositories] = default_store,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.http = HttpSession()
        self.store = store
        self._verifier = RequestVerifier(settings, SigningKeys(settings.openid_metadata_url, self.http, clock))
        self.bot_connector = BotConnector(AccessTokens(settings, self.http, clock), self.http, sleep)
        self._tasks: Set[asyncio.Task[None]] = set()
        self._clock = clock
        self._claims_pruned_at = float("-inf")

    async def handle(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        activity = request.json
        if not isinstance(activity, dict):
            return response.json({"error": "expected a Bot Framework activity"}, status=400)
        try:
            await self._verifier.verify(request.headers.get("Authorization"), activity)
        except AuthError as error:
            logger.warning("teams: rejected request: %s", error)
            return response.json({"error": "unauthorized"}, status=401)
        except KeysUnavailable:
            return response.json({"error": "cannot check tokens right now"}, status=503)
        tenant = tenant_id(activity)
        if tenant and tenant != self.settings.tenant_id:
            logger.warning("teams: rejected activity from tenant %s", tenant)
            return response.json({"error": "unknown tenant"}, status=403)
        if activity.get("type") != "message" and not is_welcome(activity):
            logger.debug("teams: ignored %s activity", activity.get("type"))
        elif await self._first_time(activity):
            # Answered now, worked on after: the Bot Connector would resend it after 15 s without an answer.
            self._spawn(self._answer(activity, request.app, on_new_message))
        return response.json({})

    async def idle(self) -> None:
        """Wait until every activity taken on has been answered (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _first_time(self, activity: Mapping[str, Any]) -> bool:
        """Claim the activity in the store; a store that cannot be reached does not cost the answer."""
        key = activity_key(activity)
        if key is None:
            return True
        try:
            await self._prune_claims()
            return await asyncio.to_thread(self.store().seen_activities.claim, key)
        except Exception as error:  # noqa: BLE001 - an answer twice beats no answer
            logger.error("teams: could not record the activity id: %s", describe(error))
            return True

    async def _prune_claims(self) -> None:
        """Once a day, drop claims older than any retry: the table stays a few days of ids."""
        if self._clock() - self._claims_pruned_at < 24 * 3600:
            return
        self._claims_pruned_at = self._clock()
        cutoff = utcnow() - timedelta(days=SEEN_ACTIVITY_DAYS)
        await asyncio.to_thread(self.store().seen_activities.forget_before, cutoff)

    async def _answer(
        self, activity: Dict[str, Any], app: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """``_process`` with a last resort: nobody awaits a background task, so a failure (the tracker
        store unreadable, say) is logged here and the user asked to send the message again."""
        try:
            await self._process(activity, app, on_new_message)
        except Exception as error:  # noqa: BLE001 - the user must never be left without an answer
            logger.error("teams: handling an activity failed: %s", describe(error))
            output = TeamsOutput(ReplyTarget.of(activity), self.bot_connector)
            await output.send_text_message("", NOT_PROCESSED_MESSAGE)

    async def _process(
        self, activity: Dict[str, Any], app: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        output = TeamsOutput(ReplyTarget.of(activity), self.bot_connector)
        user = teams_identity(tenant_id(activity) or self.settings.tenant_id, sender_id(activity))
        if (activity.get("conversation") or {}).get("conversationType") in SHARED_CONVERSATION_TYPES:
            if activity.get("type") == "message":
                await output.send_text_message(user, PERSONAL_ONLY_MESSAGE)
            return
        await self._remember(user, activity)
        if is_welcome(activity):
            await self._to_rasa(WELCOME_PAYLOAD, output, user, activity, on_new_message)
            return
        value = clicked_value(activity)
        if "reminder" in value:
            await self._reminder_action(value, output, user, activity, on_new_message)
            return
        text = clean_text(str(value.get("payload") or activity.get("text") or ""))
        if len(text) > MAX_MESSAGE_CHARS:
            await output.send_text_message(user, TOO_LONG_MESSAGE)
        elif text:
            # A payload runs only if the bot offered it; a typed title means its button (from the tracker).
            await self._to_rasa(text, output, user, activity, on_new_message, guard_with=app)

    async def _remember(self, user: str, activity: Mapping[str, Any]) -> None:
        """Keep where this person can be reached for reminders; failing that must not cost the answer."""
        try:
            await asyncio.to_thread(
                self.store().conversation_references.save, user, CHANNEL, conversation_reference(activity)
            )
        except Exception as error:  # noqa: BLE001
            logger.error("teams: could not store the conversation reference: %s", describe(error))

    async def _to_rasa(
        self,
        text: str,
        output: TeamsOutput,
        user: str,
        activity: Mapping[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        guard_with: Any = None,
    ) -> None:
        """Hand the text to Rasa while "typing" shows; errors are answered inside ``deliver``. Typed text
        comes with ``guard_with`` (a payload runs only if the bot offered it; a typed title means its
        button); the channel's own payloads (welcome, reminder buttons) come without."""
        metadata = {"conversation_id": output.target.conversation_id, "tenant_id": tenant_id(activity)}
        await output.send_typing()
        typing = asyncio.ensure_future(self._keep_typing(output))
        try:
            await deliver(
                UserMessage(text, output, user, input_channel=TeamsInput.name(), metadata=metadata),
                on_new_message,
                CHANNEL,
                guard_with=guard_with,
            )
        finally:
            typing.cancel()

    @staticmethod
    async def _keep_typing(output: TeamsOutput) -> None:
        while True:
            await asyncio.sleep(TYPING_REPEAT_SECONDS)
            await output.send_typing()

    async def _reminder_action(
        self,
        value: Mapping[str, Any],
        output: TeamsOutput,
        user: str,
        activity: Mapping[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        """A click on a reminder card: done and later are settled here, "open" goes to Rasa as a switch
        to the reminder's case."""
        action = str(value.get("reminder"))
        if action == reminders.OPEN:
            opened = await asyncio.to_thread(reminders.open_case_payload, self.store(), value.get("followup_id"), user)
            await self._to_rasa(opened, output, user, activity, on_new_message)
            return
        answer = await asyncio.to_thread(reminders.answer_click, self.store(), value.get("followup_id"), action, user)
        await output.send_text_message(user, answer)

    async def send_reminder(self, reference: Mapping[str, Any], text: str, buttons: List[Dict[str, Any]]) -> bool:
        """A proactive message with buttons in the stored conversation; False when it was not delivered."""
        output = TeamsOutput(ReplyTarget.proactive(reference), self.bot_connector)
        return await output.post(
            {"type": "message", "attachments": hero_cards(text, buttons), "attachmentLayout": "list"}
        )


class TeamsInput(InputChannel):
    """Rasa input channel ``plugins.channels.teams.TeamsInput`` (credentials: see docs/TEAMS.md)."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(TeamsSettings.load(credentials or {}, os.environ))

    def __init__(
        self,
        settings: Optional[TeamsSettings],
        clock: Callable[[], float] = time.monotonic,
        store: Callable[[], Repositories] = default_store,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if settings is None:
            logger.warning("teams: no app id, password or tenant configured; the Teams webhook is off")
        self.connector = TeamsConnector(settings, clock, store, sleep) if settings else None
        self.scheduler: Optional[reminders.ReminderScheduler] = None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"meldwijzer_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.connector else "not configured"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if self.connector is None:
                return response.json({"error": "Teams channel not configured"}, status=503)
            return await self.connector.handle(request, on_new_message)

        @webhook.listener("after_server_start")
        async def start_reminders(*_: Any) -> None:
            if self.connector is not None and reminders.enabled(os.environ):
                self.scheduler = reminders.ReminderScheduler(
                    self.connector.store, self.connector.send_reminder, reminders.interval(os.environ)
                )
                self.scheduler.start()

        @webhook.listener("before_server_stop")
        async def stop_reminders(*_: Any) -> None:
            if self.scheduler is not None:
                await self.scheduler.stop()

        @webhook.listener("after_server_stop")
        async def close(*_: Any) -> None:
            await self.close()

        return webhook

    async def close(self) -> None:
        if self.connector is not None:
            await self.connector.idle()
            await self.connector.http.close()
