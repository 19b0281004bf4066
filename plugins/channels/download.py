"""GET /chat/dossier/<token>/<pdf|md>: the files behind the web chat's "Exporteer mijn dossier" links.

Why here and not in the action server: the Rasa server is the one the browser can reach (the action
server listens on 127.0.0.1 only). The token is a sealed grant from ``bot.dossier`` (which case, for
whom, when); the file is rendered at the moment of the click and read from the store *as that user*,
so a case closed or purged in between, or a forged or expired link, gives a plain Dutch refusal and
never another person's dossier. Nothing is cached: the response says ``no-store``.
"""

from __future__ import annotations

import asyncio
import logging

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import dossier
from bot.store.db import repositories
from bot.store.repositories import AccessDenied, NotFound

logger = logging.getLogger(__name__)

EXPIRED_MESSAGE = (
    "Deze downloadlink is verlopen of ongeldig. Vraag in de chat opnieuw om "
    "'Exporteer mijn dossier'; de nieuwe link werkt weer een kwartier."
)
PRIVATE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def refusal(status: int) -> HTTPResponse:
    return response.text(EXPIRED_MESSAGE, status=status, headers=PRIVATE_HEADERS)


async def download(_: Request, token: str, fmt: str) -> HTTPResponse:
    """The PDF or Markdown file of the grant's case, or 404/410 with the same message for every failure."""
    if fmt not in dossier.FORMATS:
        return refusal(404)
    grant = dossier.read_download_token(token)
    if grant is None:
        return refusal(410)
    try:
        # PDF rendering and the store are blocking; keep the event loop (other chats) free.
        file = await asyncio.to_thread(dossier.export_file, repositories(), grant, fmt)
    except (AccessDenied, NotFound):
        logger.info("web: dossier download refused (case gone or not readable)")
        return refusal(404)
    logger.info("web: dossier download served (%s)", fmt)
    headers = {**PRIVATE_HEADERS, "Content-Disposition": f'attachment; filename="{file.filename}"'}
    return response.raw(file.data, content_type=file.content_type, headers=headers)


def add_download_route(page: Blueprint) -> None:
    """Mount the download under the chat page's prefix, next to the widget files."""
    page.add_route(
        download, f"/{dossier.DOWNLOAD_PATH}/<token:str>/<fmt:str>", methods=["GET"], name="dossier_download"
    )
