"""GET /chat/overzicht/<token>[?filter=achterstallig]: the aandachtsfunctionaris's printable overview.

Why a sealed grant and not the staff JWT in the URL or a new login: the chat connection is where the
staff JWT (aud, iss, exp) is checked; a grant made there ("Open het overzicht in de browser") is the
same mechanism as the dossier download, so no new way in. The token (``bot.overview_usecase``) says
who and which organisation, shows nothing to whoever sees the URL and expires after a quarter of an
hour; the page then reads the store *as that viewer*, so a revoked role gives a refusal at once.
Server-rendered HTML with every value escaped, a CSP without scripts, and ``no-store``.
"""

from __future__ import annotations

import asyncio
import logging

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import overview, overview_usecase
from bot.profiles import profile
from bot.store.db import repositories

logger = logging.getLogger(__name__)

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
}


async def overview_page(request: Request, token: str) -> HTTPResponse:
    """The page, or a Dutch 410 (expired/forged link) or 404 (no grant for that organisation)."""
    only_overdue = request.args.get("filter") == overview.OVERDUE_ONLY
    # The store is blocking; keep the event loop (other chats) free.
    status, body = await asyncio.to_thread(overview_usecase.page, repositories(), token, only_overdue, profile())
    logger.info("web: overview page answered %d", status)
    return response.html(body, status=status, headers=PAGE_HEADERS)


def add_overview_route(page: Blueprint) -> None:
    """Mount the page under the chat page's prefix, next to the dossier download."""
    page.add_route(overview_page, f"/{overview_usecase.PAGE_PATH}/<token:str>", methods=["GET"], name="overview_page")
