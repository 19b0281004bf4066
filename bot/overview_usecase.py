"""Use cases of the aandachtsfunctionaris's overview: load from the store, decide, return what to show.

Why separate from ``bot.overview``: that module is pure (rows, order, rendering); this one reads the
store as the viewer and seals the web page's grant. Access is decided by the store: only a person the
school granted the aandachtsfunctionaris role (``python -m bot roles grant``) in the deployment's
organisation gets rows; everyone else, whatever role they state in the chat, gets the polite refusal.

The web page (``/chat/overzicht/<token>``) is opened with a sealed grant made in an authenticated chat,
like the dossier download: the token names the viewer and the organisation, says nothing to whoever
sees the URL, expires after ``PAGE_MINUTES``, and the page checks the grant in the store again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Dict, List, Optional, Tuple

from bot import dossier, overview
from bot.cases import NEXT_CHOICE
from bot.language.dates import AMSTERDAM
from bot.profiles import ATTENTION_OFFICER, Organisation
from bot.reply import Choice, Reply
from bot.store import crypto
from bot.store.repositories import AccessDenied, NotFound, Repositories

PAGE_MINUTES = 15
PAGE_PURPOSE = "overview"
# The page URL relative to the chat page (/chat/), like the dossier download.
PAGE_PATH = "overzicht"
# The intent and entities of the overview's buttons (domain.yml, overview block).
INTENT = "show_overview"
FILTER_ENTITY = "overview_filter"
CASE_ENTITY = "overview_case"
EXPIRED = (
    "Deze link naar het overzicht is verlopen of ongeldig. Vraag in de chat opnieuw om het overzicht "
    "van alle casussen; de nieuwe link werkt weer een kwartier."
)
GONE = "Deze casus is niet (meer) te openen: hij is gesloten of u heeft er geen toegang toe."


@dataclass(frozen=True)
class PageGrant:
    """Who may open the overview page of which organisation (from a sealed token)."""

    viewer_id: str
    organisation_id: str


def today() -> date:
    return datetime.now(AMSTERDAM).date()


def page_token(grant: PageGrant) -> str:
    return crypto.seal({"p": PAGE_PURPOSE, "v": grant.viewer_id, "o": grant.organisation_id})


def read_page_token(token: str) -> Optional[PageGrant]:
    """The grant in a token that is ours, intact and younger than PAGE_MINUTES; else None."""
    claims = crypto.unseal(token, PAGE_MINUTES * 60)
    if claims is None or claims.get("p") != PAGE_PURPOSE:
        return None
    viewer_id, organisation_id = claims.get("v"), claims.get("o")
    if not isinstance(viewer_id, str) or not isinstance(organisation_id, str):
        return None
    return PageGrant(viewer_id, organisation_id)


def page_link(grant: PageGrant) -> Dict[str, str]:
    """The widget link to the printable page (format html: opened in a tab, not downloaded)."""
    return {
        "title": "Open het overzicht in de browser (afdrukbaar)",
        "format": "html",
        "url": f"{PAGE_PATH}/{page_token(grant)}",
    }


def rows(
    repos: Repositories, grant: PageGrant, org: Organisation, only_overdue: bool, day: Optional[date] = None
) -> List[overview.OverviewRow]:
    """The organisation's open cases as rows; AccessDenied for anyone without the grant."""
    records = repos.overview.open_cases(grant.viewer_id, grant.organisation_id)
    return overview.build(records, day or today(), org, only_overdue)


def show(
    repos: Repositories, viewer_id: str, org: Organisation, only_overdue: bool, web: bool, day: Optional[date] = None
) -> Reply:
    """'Overzicht van alle casussen': the rows for chat, or the refusal for anyone without the grant."""
    grant = PageGrant(viewer_id, org.id)
    try:
        found = rows(repos, grant, org, only_overdue, day)
    except AccessDenied:
        return Reply(overview.refusal(org), (NEXT_CHOICE,))
    text, choices = overview.chat_reply(found, only_overdue, INTENT, CASE_ENTITY, FILTER_ENTITY)
    return Reply(text, tuple(choices), links=(page_link(grant),) if web else ())


def open_case(repos: Repositories, viewer_id: str, case_id: str, org: Organisation, web: bool) -> Reply:
    """One case's dossier from the overview, read as aandachtsfunctionaris (the store checks the grant
    and the organisation of the case); the web widget also gets the download links."""
    back = (Choice("Terug naar het overzicht", INTENT),)
    try:
        case = repos.cases.get(case_id, viewer_id, ATTENTION_OFFICER)
        notes = repos.notes.list(case_id, viewer_id, ATTENTION_OFFICER)
    except (AccessDenied, NotFound):
        return Reply(GONE, back)
    entries = dossier.timeline(notes, repos.weighing.trace(case_id), org)
    if entries:
        text = "\n".join(
            [
                f"Dossier van {case.pseudonym} (stap {case.step}), {len(notes)} aantekening(en):",
                *(f"- {e}" for e in entries),
            ]
        )
    else:
        text = f"Het dossier van {case.pseudonym} heeft nog geen aantekeningen."
    links = dossier.download_links(dossier.download_token(dossier.Grant(case_id, viewer_id, ATTENTION_OFFICER)))
    return Reply(text, back, links=tuple(links) if web else ())


def answer(
    repos: Repositories,
    viewer_id: str,
    org: Organisation,
    filter_value: Optional[str],
    case_id: Optional[str],
    web: bool,
) -> Reply:
    """The one entry the chat action calls: a case's dossier when a case button was clicked, else the list."""
    if case_id:
        return open_case(repos, viewer_id, case_id, org, web)
    return show(repos, viewer_id, org, filter_value == overview.OVERDUE_ONLY, web)


def page(
    repos: Repositories, token: str, only_overdue: bool, org: Organisation, now: Optional[datetime] = None
) -> Tuple[int, str]:
    """(status, html) of the web page: 410 for an expired or forged link, 404 without access."""
    stylesheet = f"../{PAGE_PATH}.css"  # relative to /chat/overzicht/<token>
    grant = read_page_token(token)
    if grant is None:
        return 410, overview.message_page(EXPIRED, stylesheet)
    generated = now or datetime.now(AMSTERDAM)
    try:
        found = rows(repos, grant, org, only_overdue, generated.astimezone(AMSTERDAM).date())
    except AccessDenied:
        return 404, overview.message_page(EXPIRED, stylesheet)
    urls = {
        r.case_id: f"../{dossier.DOWNLOAD_PATH}/"
        f"{dossier.download_token(dossier.Grant(r.case_id, grant.viewer_id, ATTENTION_OFFICER))}"
        f"/{dossier.PDF}"
        for r in found
    }
    return 200, overview.render_page(found, only_overdue, org, generated, urls, stylesheet)
