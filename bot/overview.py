"""The aandachtsfunctionaris's overview of every open case of the school: rows, order, filter, rendering.

Why: the aandachtsfunctionaris coordinates all cases of the school and must see at a glance which
ones stall (follow-ups past their date, long silence) without reading each dossier. This module turns
what the store returns into rows and renders them for the chat and for the printable web page. It is
pure: no store, no Rasa; the store's records satisfy the small protocols below. The owner is shown
only by the role they stated, never by identity: the overview is about the pupil's case, not about
checking on colleagues.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple

from bot import weighing
from bot.knowledge import KnowledgeBase
from bot.language.dates import AMSTERDAM
from bot.profiles import Organisation, render, user_role_label
from bot.reply import Choice

# The filter value the "Alleen achterstallig" button (and the web page's link) carries.
OVERDUE_ONLY = "achterstallig"
# A chat message stays readable on a phone; the web page shows every case.
MAX_CHAT_ROWS = 8
UNKNOWN_ROLE = "rol onbekend"
NOT_WEIGHED = "nog niet gewogen"

REFUSAL = (
    "Het overzicht van alle casussen van de school is alleen voor de {attention_officer} die de "
    "school daarvoor heeft aangewezen. Uw eigen casus ziet u met 'Toon mijn dossier'."
)


class CaseSource(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def pseudonym(self) -> str: ...

    @property
    def step(self) -> int: ...


class FollowUpSource(Protocol):
    @property
    def due_on(self) -> date: ...


class OverviewSource(Protocol):
    """One open case as the store hands it over (bot.store's OverviewRecord has these attributes)."""

    @property
    def case(self) -> CaseSource: ...

    @property
    def owner_role(self) -> Optional[str]: ...

    @property
    def last_activity(self) -> datetime: ...

    @property
    def open_followups(self) -> Sequence[FollowUpSource]: ...

    @property
    def weighing(self) -> Sequence[weighing.StoredEntry]: ...


@dataclass(frozen=True)
class OverviewRow:
    """One line of the overview, in the words it is shown with."""

    case_id: str
    pseudonym: str
    step: int
    owner_role: str
    days_idle: int
    overdue: int
    decision: str


def last_decision(
    entries: Sequence[weighing.StoredEntry], org: Organisation, kb: Optional[KnowledgeBase] = None
) -> str:
    """Where the last weighing run led, replayed from the trace like the dossier does."""
    state = weighing.replay(entries, kb)
    result = weighing.outcome(state, org, kb) if state.answers else None
    return result.title if result is not None else NOT_WEIGHED


def to_row(source: OverviewSource, today: date, org: Organisation, kb: Optional[KnowledgeBase] = None) -> OverviewRow:
    """A follow-up is overdue once its date has passed (on the day itself it is merely due)."""
    idle = (today - source.last_activity.astimezone(AMSTERDAM).date()).days
    return OverviewRow(
        case_id=source.case.id,
        pseudonym=source.case.pseudonym,
        step=source.case.step,
        owner_role=user_role_label(source.owner_role) if source.owner_role else UNKNOWN_ROLE,
        days_idle=max(idle, 0),
        overdue=sum(1 for f in source.open_followups if f.due_on < today),
        decision=last_decision(source.weighing, org, kb),
    )


def ordered(rows: Iterable[OverviewRow]) -> List[OverviewRow]:
    """Cases with overdue follow-ups first, then the longest without activity: what needs a call first."""
    return sorted(rows, key=lambda r: (r.overdue == 0, -r.days_idle, r.pseudonym, r.case_id))


def filtered(rows: Iterable[OverviewRow], only_overdue: bool) -> List[OverviewRow]:
    return [r for r in rows if r.overdue] if only_overdue else list(rows)


def build(
    sources: Iterable[OverviewSource],
    today: date,
    org: Organisation,
    only_overdue: bool = False,
    kb: Optional[KnowledgeBase] = None,
) -> List[OverviewRow]:
    """The rows to show, filtered and in order."""
    return ordered(filtered((to_row(s, today, org, kb) for s in sources), only_overdue))


def idle_text(days: int) -> str:
    if days == 0:
        return "vandaag nog actief"
    return f"{days} dag{'' if days == 1 else 'en'} geen activiteit"


def overdue_text(count: int) -> str:
    if count == 0:
        return "geen achterstallige afspraken"
    return f"{count} afspra{'ak' if count == 1 else 'ken'} achterstallig"


def refusal(org: Organisation, kb: Optional[KnowledgeBase] = None) -> str:
    return render(REFUSAL, org, kb)


def heading(count: int, only_overdue: bool) -> str:
    if only_overdue:
        return (
            f"Open casussen met achterstallige afspraken: {count}."
            if count
            else "Er zijn geen open casussen met achterstallige afspraken."
        )
    return f"Open casussen van de school: {count}." if count else "Er zijn geen open casussen."


def chat_line(row: OverviewRow) -> str:
    """'- Leerling K7: stap 3, leerkracht of docent, 12 dagen geen activiteit, 1 afspraak achterstallig,
    weging: ...' (the overdue part only when there is something overdue: short lines)."""
    parts = [f"stap {row.step}", row.owner_role, idle_text(row.days_idle)]
    if row.overdue:
        parts.append(overdue_text(row.overdue))
    parts.append(f"weging: {row.decision}" if row.decision != NOT_WEIGHED else NOT_WEIGHED)
    return f"- {row.pseudonym}: {', '.join(parts)}"


def chat_reply(
    rows: Sequence[OverviewRow], only_overdue: bool, intent: str, case_entity: str, filter_entity: str
) -> Tuple[str, List[Choice]]:
    """The chat text and buttons: the filter (or back to all), then one dossier button per shown case."""
    shown = rows[:MAX_CHAT_ROWS]
    lines = [heading(len(rows), only_overdue), *(chat_line(r) for r in shown)]
    if len(rows) > len(shown):
        lines.append(f"En nog {len(rows) - len(shown)}; het volledige overzicht staat op de webpagina.")
    toggle = (
        Choice("Alle casussen", intent)
        if only_overdue
        else Choice("Alleen achterstallig", intent, ((filter_entity, OVERDUE_ONLY),))
    )
    cases = [Choice(f"Dossier {r.pseudonym}", intent, ((case_entity, r.case_id),)) for r in shown]
    return "\n".join(lines), [toggle, *cases]


# --- the printable web page ----------------------------------------------------------------------

PAGE_COLUMNS = (
    "Leerling (pseudoniem)",
    "Stap",
    "Rol eigenaar",
    "Laatste activiteit",
    "Achterstallig",
    "Laatste weging",
)


def _cell(text: str) -> str:
    return f"<td>{html.escape(text)}</td>"


def html_row(row: OverviewRow, dossier_url: Optional[str]) -> str:
    link = (
        f'<td class="ov-link"><a href="{html.escape(dossier_url, quote=True)}">PDF</a></td>'
        if dossier_url
        else '<td class="ov-link">—</td>'
    )
    cls = ' class="overdue"' if row.overdue else ""
    return (
        f"<tr{cls}>"
        + _cell(row.pseudonym)
        + _cell(str(row.step))
        + _cell(row.owner_role)
        + _cell(idle_text(row.days_idle))
        + _cell(str(row.overdue))
        + _cell(row.decision)
        + link
        + "</tr>"
    )


def html_page(title: str, body: str, stylesheet: str) -> str:
    """The page shell: Dutch, our stylesheet only (the CSP allows no inline style or script)."""
    return (
        '<!doctype html>\n<html lang="nl">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{html.escape(title)}</title>\n"
        f'<link rel="stylesheet" href="{html.escape(stylesheet, quote=True)}">\n'
        f'</head>\n<body class="ov-page">\n<main>\n{body}\n</main>\n</body>\n</html>\n'
    )


def render_page(
    rows: Sequence[OverviewRow],
    only_overdue: bool,
    org: Organisation,
    generated_at: datetime,
    dossier_urls: Mapping[str, str],
    stylesheet: str,
) -> str:
    """The whole overview as HTML that prints well: a heading, the filter link, one table, no chrome.

    Every value is escaped; the links are relative (the filter stays on this page, the dossier links
    go to the download route next to it).
    """
    toggle = (
        '<a href="?">Alle casussen</a>'
        if only_overdue
        else f'<a href="?filter={OVERDUE_ONLY}">Alleen achterstallig</a>'
    )
    table = (
        "<p>Geen casussen om te tonen.</p>"
        if not rows
        else "<table>\n<thead><tr>"
        + "".join(f'<th scope="col">{html.escape(c)}</th>' for c in PAGE_COLUMNS)
        + '<th scope="col" class="ov-link">Dossier</th></tr></thead>\n<tbody>\n'
        + "\n".join(html_row(r, dossier_urls.get(r.case_id)) for r in rows)
        + "\n</tbody>\n</table>"
    )
    stamp = generated_at.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M")
    body = (
        f"<h1>Overzicht open casussen — {html.escape(org.name)}</h1>\n"
        f'<p class="ov-meta">{html.escape(heading(len(rows), only_overdue))} Stand van {stamp}. '
        "Alleen pseudoniemen; bewaar of print dit overzicht niet langer dan nodig.</p>\n"
        f'<nav class="ov-tools">{toggle}</nav>\n{table}'
    )
    return html_page("Overzicht open casussen — Meldwijzer", body, stylesheet)


def message_page(message: str, stylesheet: str) -> str:
    """A refusal (expired link, no access) as a small Dutch page."""
    return html_page("Meldwijzer", f"<h1>Overzicht niet beschikbaar</h1>\n<p>{html.escape(message)}</p>", stylesheet)
