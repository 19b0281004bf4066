"""Helpers for the browser tests of the web chat: Debian's Chromium via Playwright, a second website
that embeds the widget (another origin), signed staff tokens, and a page object for the chat.

Why a real browser: the widget's promises (the 112 bar is visible, keyboard-only use, no horizontal
scroll at 360 px, the one-script-tag embed, the origin check) only exist in a browser.
"""

from __future__ import annotations

import html
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.e2e.conftest import REPO, WEB_JWT_AUDIENCE, WEB_JWT_ISSUER
from tests.fakes import intranet

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "var" / "screenshots"
REPLY_TIMEOUT_MS = 120_000  # the first NLU call after a start can be slow on 2 cores


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; never Playwright's downloaded browsers."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError("/usr/bin/chromium is missing: run scripts/setup.sh --test (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def staff_token(key: str, subject: str, minutes: int = 10, **claims: object) -> str:
    """The token the test intranet signs for a signed-in staff member (tests.fakes.intranet)."""
    return intranet.staff_token(key, subject, WEB_JWT_AUDIENCE, WEB_JWT_ISSUER, minutes, **claims)


def embed_html(server: str, token: Optional[str] = None) -> str:
    """An intranet page that embeds the widget with one script tag (plus a token when given)."""
    token_attr = f' data-meldwijzer-token="{html.escape(token)}"' if token else ""
    return (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Intranet</title></head>'
        "<body><h1>Intranet van de school</h1><p>Nieuws, roosters en formulieren.</p>"
        f'<script src="{html.escape(server)}/chat/widget.js" data-meldwijzer-server="{html.escape(server)}"'
        f"{token_attr}></script></body></html>"
    )


@dataclass
class IntranetSite:
    """A website on its own port serving the embedding page. It is reachable under two origins:
    ``allowed_origin`` (127.0.0.1) and ``other_origin`` (localhost), which the chat server tells apart."""

    port: int
    pages: Dict[str, bytes]

    @property
    def allowed_origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def other_origin(self) -> str:
        return f"http://localhost:{self.port}"

    def publish(self, path: str, body: str) -> None:
        self.pages[path] = body.encode()


@contextmanager
def intranet_site(port: int) -> Iterator[IntranetSite]:
    """Serve the intranet on ``port`` (chosen before the chat servers start: they allow its origin)."""
    pages: Dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield IntranetSite(port=port, pages=pages)
    finally:
        server.shutdown()
        server.server_close()


class ChatPage:
    """The chat as a user sees it: the message log, the buttons, the input."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.log = page.locator(".mw-log")
        self.input = page.locator("textarea.mw-input")

    def bot_messages(self) -> Locator:
        return self.log.locator(".mw-msg-bot .mw-text")

    def wait_connected(self) -> None:
        expect(self.page.locator(".mw-send")).to_be_enabled(timeout=30_000)

    def send(self, text: str) -> str:
        """Type and press Enter; once the whole answer is in, return the text of its first message."""
        before = self.bot_messages().count()
        self.input.fill(text)
        self.input.press("Enter")
        return self.replies_after(before)[0]

    def reply_after(self, before: int) -> str:
        """The first bot message after the first ``before`` ones (waits for it, not for the rest)."""
        reply = self.bot_messages().nth(before)
        expect(reply).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        return reply.inner_text()

    def replies_after(self, before: int) -> List[str]:
        """All bot messages after ``before`` once the turn is over (the server's turn_end has emptied
        the status line): a reply comes in several messages, with pauses between them."""
        self.reply_after(before)
        expect(self.page.locator(".mw-status")).to_have_text("", timeout=REPLY_TIMEOUT_MS)
        return self.bot_messages().all_inner_texts()[before:]

    def choices(self) -> Locator:
        return self.log.locator("button.mw-choice")

    def click_choice(self, title: str) -> str:
        """Click the newest button with ``title`` (as a user does: under the last answer); once the whole
        answer is in, return the text of its first message."""
        before = self.bot_messages().count()
        self.choices().filter(has_text=title).last.click()
        return self.replies_after(before)[0]

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path


def session_id(page: Page, server: str) -> Optional[str]:
    """The session id the widget stored for ``server`` (None when it has none)."""
    return page.evaluate("key => window.sessionStorage.getItem(key)", f"meldwijzer.session@{server}")
