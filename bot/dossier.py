"""One case's dossier, collected from the case store: what "Exporteer mijn dossier" hands out.

Why a module of its own: three places export a dossier (the chat action, the web channel's download
link and ``python -m bot export``) and they must show the same thing, checked by the same access rule.
``bot.export`` renders plain values and knows no store; this module reads the store (as the viewer,
so the repositories refuse anyone but the owner and the aandachtsfunctionaris) and fills those values.

The download link carries a sealed grant (``bot.store.crypto.seal``): which case, for whom, issued
when. The web channel honours it for ``DOWNLOAD_MINUTES`` and then checks access again as that viewer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from bot import cases, weighing
from bot.export import (
    CaseHeader,
    Decision,
    Dossier,
    WeighingAnswer,
    WeighingTrace,
    build_dossier,
    render_markdown,
    render_pdf,
)
from bot.knowledge import KnowledgeBase
from bot.language.dates import AMSTERDAM, describe_when
from bot.notes import moment_of, note_kind
from bot.profiles import Organisation, profile
from bot.store import crypto
from bot.store.repositories import CaseRecord, FollowUpRecord, NoteRecord, Repositories, WeighingRecord

DOWNLOAD_MINUTES = 15
GRANT_PURPOSE = "dossier"
PDF, MARKDOWN = "pdf", "md"
FORMATS = {PDF: "application/pdf", MARKDOWN: "text/markdown; charset=utf-8"}
# The download URL relative to the chat page (/chat/), so an embedding page resolves it to our server.
DOWNLOAD_PATH = "dossier"


@dataclass(frozen=True)
class Grant:
    """Who may download which case's dossier (from a sealed token)."""

    case_id: str
    viewer_id: str
    viewer_role: Optional[str]


@dataclass(frozen=True)
class DossierFile:
    filename: str
    content_type: str
    data: bytes


def weighing_trace(
    entries: Sequence[WeighingRecord], org: Organisation, kb: Optional[KnowledgeBase] = None
) -> WeighingTrace:
    """Every answer ever given, in the organisation's words; the decisions and help plan of the last run."""
    answers = weighing.stored_answers(entries)
    labels = weighing.answer_labels(kb)
    shown = tuple(
        WeighingAnswer(weighing.question(e.question, org, kb).text, labels.get(e.answer, e.answer), e.created_at, None)
        for e in answers
    )
    state = weighing.replay(entries, kb)
    result = weighing.outcome(state, org, kb) if state.answers else None
    if result is None:
        return WeighingTrace(answers=shown)
    melding_question, help_question = weighing.decision_questions(org, kb)
    decided_at = answers[-1].created_at
    plan = tuple(weighing.help_plan_lines(state, kb)) if result.waiting_for_q5 else ()
    return WeighingTrace(
        answers=shown,
        decisions=(
            Decision(melding_question, result.decision_melding, decided_at),
            Decision(help_question, result.decision_help, decided_at),
        ),
        help_plan=plan,
    )


def timeline(
    notes: Sequence[NoteRecord],
    entries: Sequence[WeighingRecord],
    org: Organisation,
    kb: Optional[KnowledgeBase] = None,
) -> List[str]:
    """The short timeline 'Toon mijn dossier' shows: each note by kind, and where the weighing led."""
    items = [(n.moment, f"{describe_when(moment_of(n.fields, n.moment))}: {note_kind(n.kind).label}") for n in notes]
    state = weighing.replay(entries, kb)
    result = weighing.outcome(state, org, kb) if state.answers else None
    if result is not None:
        decided_at = weighing.stored_answers(entries)[-1].created_at
        items.append((decided_at, f"{describe_when(moment_of({}, decided_at))}: Weging: {result.title}"))
    return [line for _, line in sorted(items, key=lambda item: item[0])]


def load(
    repos: Repositories,
    case_id: str,
    viewer_id: str,
    viewer_role: Optional[str],
    org: Optional[Organisation] = None,
    generated_at: Optional[datetime] = None,
) -> Tuple[CaseRecord, Dossier]:
    """The case and its dossier as the viewer may see them (AccessDenied/NotFound from the store otherwise)."""
    org = org or profile()
    case = repos.cases.get(case_id, viewer_id, viewer_role)
    notes = repos.notes.list(case_id, viewer_id, viewer_role)
    followups = repos.followups.for_case(case_id, viewer_id, viewer_role)
    header = CaseHeader(case.pseudonym, step=f"stap {case.step}", opened_at=case.created_at)
    trace = weighing_trace(repos.weighing.trace(case_id), org)
    overview = build_dossier(header, notes, trace, followups, org, generated_at)
    closed = cases.closing_line(case)
    if closed is not None:  # why and when the case was closed (bot/cases.py), right under the step
        overview = replace(overview, meta=(*overview.meta[:3], ("Afgesloten", closed), *overview.meta[3:]))
    return case, overview


@dataclass(frozen=True)
class Timeline:
    """ "Toon mijn dossier" in the chat: the notes and weighings as short lines, and what is still open."""

    notes: int
    entries: Tuple[str, ...]
    open_followups: Tuple[FollowUpRecord, ...]


def case_timeline(
    repos: Repositories, case: CaseRecord, viewer_id: str, viewer_role: Optional[str], org: Organisation, today: date
) -> Timeline:
    """The case's timeline read as the viewer (the repositories refuse anyone else)."""
    notes = repos.notes.list(case.id, viewer_id, viewer_role)
    entries = timeline(notes, repos.weighing.trace(case.id), org)
    open_ = repos.followups.open_for_case(case.id, viewer_id, viewer_role, today)
    return Timeline(len(notes), tuple(entries), tuple(open_))


def filename(pseudonym: str, day: date, fmt: str) -> str:
    """'dossier-leerling-k7mq-2026-11-23.pdf': the pseudonym only, safe on every file system."""
    slug = re.sub(r"[^a-z0-9]+", "-", pseudonym.lower()).strip("-") or "leerling"
    return f"dossier-{slug}-{day.isoformat()}.{fmt}"


def to_file(dossier: Dossier, pseudonym: str, fmt: str, generated_at: datetime) -> DossierFile:
    """One format of the dossier as a file to hand out."""
    data = render_pdf(dossier, generated_at) if fmt == PDF else render_markdown(dossier).encode("utf-8")
    return DossierFile(filename(pseudonym, generated_at.date(), fmt), FORMATS[fmt], data)


def export_file(
    repos: Repositories, grant: Grant, fmt: str, org: Optional[Organisation] = None, now: Optional[datetime] = None
) -> DossierFile:
    """The file behind a download link, rendered now and checked against the store as the grant's viewer."""
    generated = (now or datetime.now(AMSTERDAM)).astimezone(AMSTERDAM)
    case, dossier = load(repos, grant.case_id, grant.viewer_id, grant.viewer_role, org, generated)
    return to_file(dossier, case.pseudonym, fmt, generated)


def export_case_files(
    repos: Repositories,
    case_id: str,
    out_dir: Path,
    viewer_id: str,
    viewer_role: Optional[str],
    org: Optional[Organisation] = None,
) -> List[Path]:
    """``python -m bot export``: write the PDF and the Markdown file into ``out_dir``; returns the paths.

    The store is read once (as the viewer) before anything is written, so a refusal leaves no folder.
    """
    generated = datetime.now(AMSTERDAM)
    case, overview = load(repos, case_id, viewer_id, viewer_role, org, generated)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in (PDF, MARKDOWN):
        file = to_file(overview, case.pseudonym, fmt, generated)
        path = out_dir / file.filename
        path.write_bytes(file.data)
        paths.append(path)
    return paths


def download_token(grant: Grant) -> str:
    """A sealed, expiring token for the download link; it reveals nothing to whoever sees the URL."""
    return crypto.seal({"p": GRANT_PURPOSE, "c": grant.case_id, "v": grant.viewer_id, "r": grant.viewer_role})


def read_download_token(token: str) -> Optional[Grant]:
    """The grant in a token that is ours, intact and younger than DOWNLOAD_MINUTES; else None."""
    claims = crypto.unseal(token, DOWNLOAD_MINUTES * 60)
    if claims is None or claims.get("p") != GRANT_PURPOSE:
        return None
    case_id, viewer_id, role = claims.get("c"), claims.get("v"), claims.get("r")
    if not isinstance(case_id, str) or not isinstance(viewer_id, str) or not (role is None or isinstance(role, str)):
        return None
    return Grant(case_id, viewer_id, role)


def download_links(token: str) -> List[Dict[str, str]]:
    """The files a web user can download for one token, as URLs relative to the chat page."""
    return [
        {"title": "Dossier als PDF", "format": PDF, "url": f"{DOWNLOAD_PATH}/{token}/{PDF}"},
        {"title": "Dossier als Markdown-tekst", "format": MARKDOWN, "url": f"{DOWNLOAD_PATH}/{token}/{MARKDOWN}"},
    ]
