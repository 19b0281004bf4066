"""The chat page and the embeddable widget, served by the web channel at /chat.

Why served by Rasa itself: one process, one port (``make run`` prints http://127.0.0.1:5005/chat), and
the page's origin is then the socket.io server's own origin, which the channel allows by default.
Only the fixed files below are served (no directory listing, no path from the URL touches the disk),
plus the dossier download and the aandachtsfunctionaris's overview page, which render from the store
(``download.py``, ``overview_page.py``).
The page gets a strict Content-Security-Policy: scripts and styles only from this server, no inline
code, connections only back to this server, framing only by the allowed intranet origins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Coroutine, Dict, Iterable, NamedTuple

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from plugins.channels.download import add_download_route
from plugins.channels.overview_page import add_overview_route

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
PAGE_PREFIX = "/chat"


class Asset(NamedTuple):
    """One file under web/ and the content type it is served with."""

    file: str
    content_type: str


# URL under /chat -> file. The page at /chat itself is the empty route.
ASSETS: Dict[str, Asset] = {
    "": Asset("index.html", "text/html; charset=utf-8"),
    "widget.js": Asset("widget.js", "text/javascript; charset=utf-8"),
    "widget.css": Asset("widget.css", "text/css; charset=utf-8"),
    "vendor/socket.io.min.js": Asset("vendor/socket.io.min.js", "text/javascript; charset=utf-8"),
    "overzicht.css": Asset("overview.css", "text/css; charset=utf-8"),
}


def content_security_policy(frame_ancestors: Iterable[str]) -> str:
    """The page's CSP: everything from this server only; the allowed origins may frame the page."""
    ancestors = " ".join(["'self'", *frame_ancestors])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        f"base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    )


def asset_headers(asset: Asset, csp: str) -> Dict[str, str]:
    """Headers for one asset. JS/CSS stay loadable from the embedding intranet page (no CORP)."""
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"}
    if asset.content_type.startswith("text/html"):
        headers["Content-Security-Policy"] = csp
    return headers


def serve(body: bytes, asset: Asset, headers: Dict[str, str]) -> Callable[[Request], Coroutine[Any, Any, HTTPResponse]]:
    """A handler returning one file that was read when the blueprint was built."""

    async def handler(_: Request) -> HTTPResponse:
        return response.raw(body, content_type=asset.content_type, headers=headers)

    return handler


def page_blueprint(frame_ancestors: Iterable[str]) -> Blueprint:
    """GET /chat, /chat/widget.js, /chat/widget.css, /chat/vendor/socket.io.min.js, /chat/overzicht.css,
    the dossier download /chat/dossier/<token>/<pdf|md> (``download.py``) and the overview page
    /chat/overzicht/<token> (``overview_page.py``).

    Files are read once here, so a missing web/ directory fails at start-up, not on a teacher's click.
    """
    csp = content_security_policy(frame_ancestors)
    page = Blueprint("meldwijzer_web_page", url_prefix=PAGE_PREFIX, strict_slashes=False)
    for route, asset in ASSETS.items():
        body = (WEB_DIR / asset.file).read_bytes()
        page.add_route(
            serve(body, asset, asset_headers(asset, csp)),
            f"/{route}",
            methods=["GET"],
            name=f"asset_{route.replace('/', '_').replace('.', '_') or 'page'}",
        )
    add_download_route(page)
    add_overview_route(page)
    return page
