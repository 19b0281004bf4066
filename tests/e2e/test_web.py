"""The web chat in a real headless Chromium against the real Rasa and action servers: the page at /chat,
the one-script-tag widget on an intranet page of another origin, keyboard-only use, a phone-sized
screen, session persistence, the origin allowlist and signed staff tokens.

Screenshots go to var/screenshots/ (look at them after a layout change).
"""

from __future__ import annotations

import re
from typing import Callable, Iterator

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pypdf import PdfReader

from tests.e2e.conftest import REST_TOKEN, WEB_JWT_KEY, WEB_OFFICER_ROLE, Servers, texts
from tests.e2e.web_helpers import ChatPage, IntranetSite, chromium, embed_html, intranet_site, session_id, staff_token

pytestmark = pytest.mark.e2e
WORRY = "ik maak me zorgen over een leerling"
DANGER = "het kind bloedt en durft niet naar huis, vader staat bij het hek"
TEACHER_TITLE = "Leerkracht / docent"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def site(intranet_port: int) -> Iterator[IntranetSite]:
    """The intranet on the port whose 127.0.0.1 origin (not localhost) every server pair allows."""
    with intranet_site(intranet_port) as running:
        yield running


@pytest.fixture(scope="module")
def web(servers: Servers) -> Servers:
    """The servers as ``make run`` has them: the anonymous trial mode of the web chat."""
    return servers


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile per test (its own sessionStorage), like a new colleague's laptop."""
    fresh = browser.new_context(viewport=DESKTOP, locale="nl-NL")
    try:
        yield fresh
    finally:
        fresh.close()


def open_chat(context: BrowserContext, url: str) -> ChatPage:
    page = context.new_page()
    page.goto(url)
    chat = ChatPage(page)
    chat.wait_connected()
    return chat


def assert_fits_width(page: Page) -> None:
    """No horizontal scroll, and no chat element cut off at the right edge (the panel clips overflow)."""
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    cut_off = page.evaluate(
        """[...document.querySelectorAll('.mw-root *:not(.mw-sr)')]
             .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 0.5)
             .map(e => e.className || e.tagName)"""
    )
    assert cut_off == [], cut_off


def test_page_shows_the_112_bar_and_a_case_starts_with_buttons(web: Servers, context: BrowserContext) -> None:
    chat = open_chat(context, f"{web.base_url}/chat")
    bar = chat.page.locator(".mw-alert")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("Bij acuut gevaar: bel 112")
    expect(bar.get_by_role("link", name="112")).to_have_attribute("href", "tel:112")
    expect(bar.get_by_role("link", name="0800-2000")).to_have_attribute("href", "tel:08002000")

    chat.send(WORRY)
    expect(chat.choices().filter(has_text=TEACHER_TITLE)).to_be_visible()
    before = chat.bot_messages().count()
    chat.click_choice(TEACHER_TITLE)
    assert "Stap 1" in "\n".join(chat.replies_after(before))
    # The user's bubble shows the button's title, never the payload behind it.
    expect(chat.log.locator(".mw-msg-user").last).to_have_text(f"U: {TEACHER_TITLE}")
    expect(chat.log).not_to_contain_text("/inform_role")
    chat.screenshot("page-desktop")


def test_two_cases_are_switched_closed_and_reopened_with_the_buttons(web: Servers, context: BrowserContext) -> None:
    """Case work in the browser (issue 16): every step after the first words is a click on a button."""
    chat = open_chat(context, f"{web.base_url}/chat")

    def turn(act: Callable[[], object]) -> str:
        """Everything the bot answered to one message or click."""
        before = chat.bot_messages().count()
        act()
        return "\n".join(chat.bot_messages().all_inner_texts()[before:])

    chat.send(WORRY)
    first = re.search(r"Leerling \w+", turn(lambda: chat.click_choice(TEACHER_TITLE))).group(0)
    second = re.search(r"Leerling \w+", turn(lambda: chat.send("nieuwe casus"))).group(0)
    assert second != first

    listed = turn(lambda: chat.send("mijn casussen"))
    assert f"- {first}: stap 1" in listed and f"- {second} (huidige casus): stap 1" in listed
    assert chat.click_choice(f"{first} (stap 1)").startswith(f"Casus {first}: u werkt nu verder")

    chat.send("ik wil deze casus afsluiten")
    assert f"Casus {first}: afgesloten" in chat.click_choice("Toch geen zorgen")
    assert first not in turn(lambda: chat.send("mijn casussen"))
    chat.send("casus heropenen")
    assert chat.click_choice(f"{first} (afgesloten").startswith(f"Casus {first}: weer geopend")


def test_acute_danger_first_reply_names_112(web: Servers, context: BrowserContext) -> None:
    chat = open_chat(context, f"{web.base_url}/chat")
    assert "112" in chat.send(DANGER)


def test_keyboard_only_user_can_reach_the_input_and_send(web: Servers, context: BrowserContext) -> None:
    chat = open_chat(context, f"{web.base_url}/chat")
    page = chat.page
    for _ in range(10):  # Nieuw gesprek, 112, 0800-2000, the log, then the message field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('mw-input')"):
            break
    assert page.evaluate("document.activeElement.classList.contains('mw-input')"), "Tab never reached the input"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none", "no focus style"
    before = chat.bot_messages().count()
    page.keyboard.type(WORRY)
    page.keyboard.press("Enter")
    chat.reply_after(before)
    expect(chat.log.locator(".mw-msg-user").last).to_have_text(f"U: {WORRY}")
    expect(chat.input).to_have_value("")


def test_messages_are_text_only_and_limited_to_2000_characters(web: Servers, context: BrowserContext) -> None:
    chat = open_chat(context, f"{web.base_url}/chat")
    before = chat.bot_messages().count()
    chat.input.fill("<b>vet</b><img src=x> zie https://www.vooreenveiligthuis.nl")
    chat.input.press("Enter")
    chat.replies_after(before)  # the whole turn: a late second message would be read as the next reply
    mine = chat.log.locator(".mw-msg-user").last
    expect(mine.locator("b, img")).to_have_count(0)
    expect(mine).to_contain_text("<b>vet</b><img src=x>")
    expect(mine.get_by_role("link")).to_have_attribute("href", "https://www.vooreenveiligthuis.nl")

    chat.input.focus()
    chat.page.keyboard.insert_text("a" * 2100)  # typed/pasted input stops at the limit
    expect(chat.page.locator(".mw-counter")).to_have_text("2000 / 2000 tekens")
    # A client that ignores the limit is answered politely by the server, without reaching the NLU.
    chat.page.evaluate("document.querySelector('.mw-input').removeAttribute('maxlength')")
    assert "te lang" in chat.send("a" * 2001)


def test_the_dossier_is_downloaded_as_a_pdf_from_the_chat(web: Servers, context: BrowserContext) -> None:
    chat = open_chat(context, f"{web.base_url}/chat")
    chat.send(WORRY)
    chat.click_choice(TEACHER_TITLE)
    reply = chat.send("exporteer mijn dossier")
    pseudonym = re.search(r"van (Leerling \w+) staat klaar", reply).group(1)
    link = chat.log.get_by_role("link", name="Dossier als PDF")
    expect(link).to_be_visible()
    expect(chat.log.get_by_role("link", name="Dossier als Markdown-tekst")).to_be_visible()
    chat.screenshot("dossier-download")
    with chat.page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.startswith(f"dossier-{pseudonym.lower().replace(' ', '-')}-")
    text = "\n".join(page.extract_text() for page in PdfReader(download.path()).pages)
    assert "Dossieroverzicht meldcode" in text and pseudonym in text
    # A damaged link (a changed character, or characters added) gets the Dutch explanation, not a file.
    href = link.get_attribute("href")
    token = href.rsplit("/", 2)[1]
    middle = len(token) // 2
    damaged = token[:middle] + ("B" if token[middle] == "A" else "A") + token[middle + 1 :]
    for url in (href.replace(token, damaged), href.replace("/pdf", "x/pdf")):
        broken = requests.get(url, timeout=30)
        assert broken.status_code == 410 and "Exporteer mijn dossier" in broken.text


def test_phone_width_has_no_horizontal_scroll(web: Servers, context: BrowserContext) -> None:
    chat = open_chat(context, f"{web.base_url}/chat")
    chat.page.set_viewport_size(PHONE)
    chat.send(f"{WORRY} https://www.rijksoverheid.nl/onderwerpen/huiselijk-geweld/meldcode-{'x' * 60}")
    expect(chat.page.locator(".mw-alert")).to_be_in_viewport()
    expect(chat.input).to_be_in_viewport()
    assert_fits_width(chat.page)
    chat.screenshot("page-phone")


def test_session_survives_a_reload_and_new_conversation_starts_afresh(web: Servers, context: BrowserContext) -> None:
    chat = open_chat(context, f"{web.base_url}/chat")
    chat.send(WORRY)
    chat.click_choice(TEACHER_TITLE)
    first = session_id(chat.page, web.base_url)
    assert first

    chat.page.reload()
    chat.wait_connected()
    assert session_id(chat.page, web.base_url) == first
    # The reloaded tab is the same conversation and case (a REST caller naming that session id lands in
    # its own rest:local: namespace instead: tests/security/test_rest_hardening.py).
    chat.send("wat moet ik nu doen?")
    expect(chat.log).to_contain_text("Stap 1", timeout=60_000)
    assert "Stap 1" not in texts(web.send(first, "wat moet ik nu doen?"))

    chat.page.get_by_role("button", name="Nieuw gesprek").click()
    chat.page.get_by_role("button", name="Ja, nieuw gesprek").click()  # the trial mode asks first
    expect(chat.bot_messages()).to_have_count(1)  # only the welcome line
    chat.send(WORRY)
    second = session_id(chat.page, web.base_url)
    assert second and second != first


def test_after_a_button_the_focus_goes_to_the_reply_and_a_new_trial_conversation_asks_first(
    web: Servers, context: BrowserContext
) -> None:
    chat = open_chat(context, f"{web.base_url}/chat")
    page = chat.page
    expect(page.locator(".mw-root")).to_have_attribute("lang", "nl")
    chat.send(WORRY)
    before = chat.bot_messages().count()
    chat.choices().filter(has_text=TEACHER_TITLE).first.click()
    chat.replies_after(before)
    # The clicked button is gone; the focus is on the reply that offers the next choices, else the input.
    focused = page.evaluate("""(() => { const a = document.activeElement;
        if (a.matches('textarea.mw-input')) { return 'input'; }
        return a.matches('.mw-msg-bot') && a.querySelector('.mw-choice') ? 'reply' : a.className; })()""")
    assert focused in ("input", "reply"), focused
    if focused == "reply":
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.classList.contains('mw-choice')")
    first = session_id(page, web.base_url)
    messages = chat.bot_messages().count()

    new = page.get_by_role("button", name="Nieuw gesprek")
    new.click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("uw casus blijft bij het huidige gesprek")
    expect(page.get_by_role("button", name="Annuleren")).to_be_focused()  # the safe choice first
    chat.screenshot("new-conversation-confirm")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(new).to_be_focused()
    expect(chat.bot_messages()).to_have_count(messages)  # nothing was thrown away
    assert session_id(page, web.base_url) == first

    new.click()
    page.get_by_role("button", name="Ja, nieuw gesprek").click()
    expect(dialog).to_be_hidden()
    expect(chat.bot_messages()).to_have_count(1)
    expect(chat.input).to_be_focused()


def test_widget_embeds_with_one_script_tag_on_an_allowed_intranet(
    web: Servers, site: IntranetSite, context: BrowserContext
) -> None:
    site.publish("/intranet.html", embed_html(web.base_url))
    page = context.new_page()
    page.goto(f"{site.allowed_origin}/intranet.html")
    launcher = page.get_by_role("button", name="Meldwijzer")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    chat = ChatPage(page)
    expect(page.locator(".mw-alert")).to_be_visible()
    expect(chat.input).to_be_focused()
    chat.wait_connected()
    chat.send(WORRY)
    expect(chat.choices().first).to_be_visible()
    chat.screenshot("widget-desktop")

    page.set_viewport_size(PHONE)
    assert_fits_width(page)
    expect(chat.choices().last).to_be_in_viewport()  # the log keeps the latest question in view
    chat.screenshot("widget-phone")
    page.keyboard.press("Escape")
    expect(launcher).to_be_focused()
    expect(page.locator(".mw-panel")).to_be_hidden()


def test_widget_on_a_disallowed_origin_gets_no_connection(
    web: Servers, site: IntranetSite, context: BrowserContext
) -> None:
    site.publish("/elsewhere.html", embed_html(web.base_url))
    page = context.new_page()
    page.goto(f"{site.other_origin}/elsewhere.html")
    page.get_by_role("button", name="Meldwijzer").click()
    expect(page.locator(".mw-status")).to_contain_text("Geen verbinding", timeout=30_000)
    expect(page.locator(".mw-send")).to_be_disabled()
    assert session_id(page, web.base_url) is None
    handshake = requests.get(
        f"{web.base_url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": site.other_origin},
        timeout=30,
    )
    assert handshake.status_code == 400


@pytest.fixture(scope="module")
def signed_in(secured_servers: Servers) -> Servers:
    """The pair that requires staff tokens (and the REST token)."""
    return secured_servers


def test_with_tokens_required_a_page_without_token_is_refused(
    signed_in: Servers, site: IntranetSite, context: BrowserContext
) -> None:
    forged = staff_token("another-key-the-attacker-chose-for-hs256", "staff-forged")
    for name, token in (("none", None), ("forged", forged)):
        site.publish(f"/{name}.html", embed_html(signed_in.base_url, token))
        page = context.new_page()
        page.goto(f"{site.allowed_origin}/{name}.html")
        page.get_by_role("button", name="Meldwijzer").click()
        expect(page.locator(".mw-status")).to_contain_text("weigert", timeout=30_000)
        assert session_id(page, signed_in.base_url) is None


def test_with_a_valid_token_the_sender_is_the_staff_member(
    signed_in: Servers, site: IntranetSite, context: BrowserContext
) -> None:
    site.publish("/signed-in.html", embed_html(signed_in.base_url, staff_token(WEB_JWT_KEY, "staff-web-7")))
    page = context.new_page()
    page.goto(f"{site.allowed_origin}/signed-in.html")
    page.get_by_role("button", name="Meldwijzer").click()
    chat = ChatPage(page)
    chat.wait_connected()
    chat.send(WORRY)
    chat.click_choice(TEACHER_TITLE)
    # The new session the channel starts for a signed-in user says nothing, and that is no failure.
    expect(chat.log).not_to_contain_text("er ging bij mij iets mis")
    chat.send("wat moet ik nu doen?")
    expect(chat.log).to_contain_text("Stap 1", timeout=60_000)
    # The case belongs to web:<sub>. A REST integration naming the staff member, in any spelling, or the
    # browser's session id, lands in its own rest:api: namespace and reaches no case.
    browser_session = session_id(page, signed_in.base_url)
    assert browser_session
    for impersonation in ("staff-web-7", "web:staff-web-7", browser_session, f"web:anon:{browser_session}"):
        assert "Stap 1" not in texts(signed_in.send(impersonation, "wat moet ik nu doen?", token=REST_TOKEN)), (
            impersonation
        )


def test_the_aandachtsfunctionaris_role_comes_from_the_token_not_from_what_the_user_says(
    signed_in: Servers, site: IntranetSite, context: BrowserContext
) -> None:
    def chat_as(subject: str, **claims: object) -> ChatPage:
        site.publish(f"/{subject}.html", embed_html(signed_in.base_url, staff_token(WEB_JWT_KEY, subject, **claims)))
        page = context.new_page()
        page.goto(f"{site.allowed_origin}/{subject}.html")
        page.get_by_role("button", name="Meldwijzer").click()
        chat = ChatPage(page)
        chat.wait_connected()
        return chat

    teacher = chat_as("staff-web-8")
    teacher.send(WORRY)
    teacher.click_choice(TEACHER_TITLE)
    pseudonym = re.search(r"Leerling \w+", teacher.log.inner_text()).group(0)
    # Saying "aandachtsfunctionaris" opens nothing; the school's app role in the token does.
    claimer = chat_as("staff-web-9", roles=["Staff"])
    claimer.send("ik ben aandachtsfunctionaris")
    claimer.send("overzicht van alle casussen")
    assert pseudonym not in claimer.log.inner_text()
    officer = chat_as("ib-web-1", roles=["Staff", WEB_OFFICER_ROLE])
    officer.send("overzicht van alle casussen")
    expect(officer.log).to_contain_text("Open casussen van de school")
    # The chat shows the first cases of the school (the whole e2e run's); the page lists every one.
    page = officer.log.get_by_role("link", name=re.compile("Open het overzicht in de browser"))
    listed = requests.get(page.get_attribute("href"), timeout=30)
    assert listed.status_code == 200 and pseudonym in listed.text
