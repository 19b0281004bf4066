"""A fake Microsoft Bot Framework on 127.0.0.1: OpenID metadata + signing keys, a tenant's token endpoint
and a Bot Connector serviceUrl that records what the bot posts.

Why a fake and not mocks: the Teams connector's job is HTTP and crypto (JWT signatures, the OAuth
client-credentials flow, URL encoding of Teams conversation ids). A real server with a real RSA key
exercises all of that without internet, and lets tests forge exactly the bad tokens an attacker would.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Reply:
    """One activity the bot posted to the serviceUrl."""

    conversation_id: str
    reply_to_id: str
    authorization: str
    activity: Dict[str, Any]


@dataclass
class FakeBotFramework:
    app_id: str
    app_password: str
    tenant_id: str
    channel_id: str = "msteams"
    fail_replies: bool = False
    # Statuses to answer the next posts with before accepting (e.g. [429, 503]), with this Retry-After.
    fail_next: List[int] = field(default_factory=list)
    retry_after: Optional[str] = None
    refused: List[int] = field(default_factory=list)
    typing: List[Reply] = field(default_factory=list)
    keys: Dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    token_requests: List[Dict[str, Any]] = field(default_factory=list)
    replies: List[Reply] = field(default_factory=list)
    jwks_fetches: int = 0
    issued_tokens: List[str] = field(default_factory=list)
    base_url: str = ""
    _runner: Optional[web.AppRunner] = None

    def __post_init__(self) -> None:
        self.current_kid = self.add_key()

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> FakeBotFramework:
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get("/v1/.well-known/keys", self._jwks)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_post("/teams/v3/conversations/{conversation_id}/activities/{activity_id}", self._reply)
        app.router.add_post("/teams/v3/conversations/{conversation_id}/activities", self._reply)  # proactive
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def openid_metadata_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    @property
    def token_endpoint(self) -> str:
        return f"{self.base_url}/{{tenant_id}}/oauth2/v2.0/token"

    @property
    def service_url(self) -> str:
        return f"{self.base_url}/teams/"

    # --- keys and tokens -------------------------------------------------------------------------

    def add_key(self) -> str:
        """Publish a new signing key (as Microsoft does before rotating) and return its id."""
        kid = f"key-{len(self.keys) + 1}"
        self.keys[kid] = new_key()
        return kid

    def sign(
        self,
        activity: Dict[str, Any],
        *,
        kid: Optional[str] = None,
        private_key: Optional[rsa.RSAPrivateKey] = None,
        **claim_overrides: Any,
    ) -> str:
        """A Bot Connector token for ``activity``; overrides (None removes a claim) forge bad ones."""
        now = int(time.time())
        claims: Dict[str, Any] = {
            "iss": ISSUER,
            "aud": self.app_id,
            "serviceurl": activity["serviceUrl"],
            "nbf": now - 10,
            "iat": now - 10,
            "exp": now + 3600,
        }
        claims.update(claim_overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        kid = kid or self.current_kid
        key = private_key or self.keys[kid]
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def proactive(self) -> List[Reply]:
        """The messages the bot sent unprompted (no replyToId): reminders."""
        return [reply for reply in self.replies if not reply.reply_to_id]

    def activity(
        self,
        text: str,
        *,
        activity_id: Optional[str] = None,
        conversation_type: str = "personal",
        tenant_id: Optional[str] = None,
        aad_object_id: str = "6f1c2d3e-0000-4000-8000-00000000a11e",
        conversation_id: str = "a:1Fq9Xy-Personal;messageid=1700000000000",
    ) -> Dict[str, Any]:
        """A message activity shaped like the ones Teams sends."""
        tenant = tenant_id or self.tenant_id
        return {
            "type": "message",
            "id": activity_id or f"1700{uuid.uuid4().int % 10**9}",
            "timestamp": "2025-09-01T08:15:00.000Z",
            "localTimestamp": "2025-09-01T10:15:00.000+02:00",
            "serviceUrl": self.service_url,
            "channelId": self.channel_id,
            "from": {"id": "29:1AbCdEfTeacher", "name": "J. de Leerkracht", "aadObjectId": aad_object_id},
            "conversation": {"id": conversation_id, "conversationType": conversation_type, "tenantId": tenant},
            "recipient": {"id": f"28:{self.app_id}", "name": "Meldwijzer"},
            "textFormat": "plain",
            "locale": "nl-NL",
            "text": text,
            "entities": [{"type": "clientInfo", "locale": "nl-NL", "country": "NL", "platform": "Web"}],
            "channelData": {"tenant": {"id": tenant}},
        }

    def revoke_tokens(self) -> None:
        """Refuse every access token issued so far (as after rotating the client secret in Azure)."""
        self.issued_tokens.clear()

    # --- handlers --------------------------------------------------------------------------------

    async def _metadata(self, _: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": ISSUER,
                "authorization_endpoint": "https://invalid.botframework.test/v1/auth",
                "jwks_uri": f"{self.base_url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _jwks(self, _: web.Request) -> web.Response:
        self.jwks_fetches += 1
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "endorsements": [self.channel_id]})
        return web.json_response({"keys": keys})

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.token_requests.append({"tenant": request.match_info["tenant"], "form": form})
        if (
            request.match_info["tenant"] != self.tenant_id
            or form.get("client_id") != self.app_id
            or form.get("client_secret") != self.app_password
            or form.get("grant_type") != "client_credentials"
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = f"access-{len(self.token_requests)}"
        self.issued_tokens.append(token)
        return web.json_response(
            {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}
        )

    async def _reply(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization", "")
        if self.fail_replies:
            return web.json_response({"error": {"code": "ServiceError"}}, status=500)
        if authorization not in {f"Bearer {token}" for token in self.issued_tokens}:
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        activity = await request.json()
        if self.fail_next and activity.get("type") != "typing":  # throttling is tested on messages
            status = self.fail_next.pop(0)
            self.refused.append(status)
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return web.json_response({"error": {"code": "Throttled"}}, status=status, headers=headers)
        reply = Reply(
            request.match_info["conversation_id"], request.match_info.get("activity_id", ""), authorization, activity
        )
        (self.typing if activity.get("type") == "typing" else self.replies).append(reply)
        return web.json_response({"id": f"reply-{len(self.replies)}"})
