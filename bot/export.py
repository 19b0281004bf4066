"""Dossier export: one overview of a case for the leerlingdossier, as Markdown and as PDF.

Why: the seeds say the records belong in the leerlingdossier ("De verslagen horen in het
leerlingendossier", seed 002 stap 1) so that the school can account for its actions to the inspectie.
The bot's store is not that dossier; the teacher exports this overview and files it there. It shows the
pupil only by pseudonym (notes were masked before storage), the timeline of notes with date and the
author's role, the weighing and its two decisions, the contacts made and the follow-ups.

The inputs are plain values: ``NoteLike`` and ``FollowUpLike`` are what the store's NoteRecord and
FollowUpRecord already provide, the weighing trace comes as this module's ``WeighingTrace`` (the adapter
fills it from bot.weighing), so the export depends on neither the store nor Rasa. Both formats are rendered from
one ``Dossier`` so they cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple

from fpdf import FPDF

from bot.language.dates import AMSTERDAM, describe_when, dutch_date
from bot.notes import FieldValue, moment_of, note_kind, summary_lines
from bot.profiles import user_role_label

TITLE = "Dossieroverzicht meldcode"
FOOTER = "Vertrouwelijk — opnemen in het leerlingdossier"
DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")


class NoteLike(Protocol):
    """A stored, decrypted, name-masked note (bot.store's NoteRecord has these attributes)."""

    @property
    def kind(self) -> str: ...

    @property
    def author_role(self) -> Optional[str]: ...

    @property
    def moment(self) -> datetime: ...  # when it happened, else when it was written down

    @property
    def fields(self) -> Mapping[str, FieldValue]: ...


class FollowUpLike(Protocol):
    """An agreed follow-up (bot.store's FollowUpRecord has these attributes)."""

    @property
    def description(self) -> str: ...

    @property
    def due_on(self) -> date: ...

    @property
    def done_at(self) -> Optional[datetime]: ...


class OrganisationLike(Protocol):
    """bot.profiles.Organisation, or anything else with a display name."""

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class CaseHeader:
    """What identifies the case on paper: the pseudonym, never a real name."""

    pseudonym: str
    step: Optional[str] = None  # where the case is now, as shown to the teacher ("stap 4")
    opened_at: Optional[datetime] = None


@dataclass(frozen=True)
class WeighingAnswer:
    """One answered weighing question (afwegingskader) from the decision trace."""

    question: str
    answer: str
    answered_at: datetime
    author_role: Optional[str]


@dataclass(frozen=True)
class Decision:
    """One of the two step-5 decisions: its question as knowledge/weighing.yml words it (with its
    number, "Besluit I – ..."), and what was decided."""

    question: str
    outcome: str
    decided_at: Optional[datetime] = None


@dataclass(frozen=True)
class WeighingTrace:
    answers: Tuple[WeighingAnswer, ...] = ()
    decisions: Tuple[Decision, ...] = ()
    help_plan: Tuple[str, ...] = ()  # "Termijn: 6 weken", ... while the help runs (question 4 = ja)


# --- the document, independent of the format ------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A sub-heading (optional) with its lines."""

    heading: Optional[str]
    lines: Tuple[str, ...]


@dataclass(frozen=True)
class Section:
    title: str
    blocks: Tuple[Block, ...]


@dataclass(frozen=True)
class Dossier:
    title: str
    meta: Tuple[Tuple[str, str], ...]
    sections: Tuple[Section, ...]
    footer: str


def _one_line(text: str) -> str:
    """Field values may contain line breaks; in a list item they would break the structure."""
    return re.sub(r"\s+", " ", text).strip()


def _moment(dt: datetime) -> str:
    return describe_when(moment_of({}, dt))


def _role(role: Optional[str]) -> str:
    return user_role_label(role) if role else "onbekende rol"


def _note_moment(note: NoteLike) -> str:
    return describe_when(moment_of(note.fields, note.moment))


def _when_by(dt: datetime, role: Optional[str]) -> str:
    """'(intern begeleider, maandag 18 november 2024 om 14:00)', without the role when unknown."""
    return f"({_role(role)}, {_moment(dt)})" if role else f"({_moment(dt)})"


def _timeline(notes: Sequence[NoteLike]) -> Section:
    blocks = []
    for note in notes:
        kind = note_kind(note.kind)
        heading = f"{_note_moment(note)} — {kind.label} ({kind.step_label}), vastgelegd door {_role(note.author_role)}"
        lines = tuple(
            f"{label}: {_one_line(text)}" for label, text in summary_lines(note.kind, note.fields) if label != "Wanneer"
        )
        blocks.append(Block(heading, lines))
    return Section("Tijdlijn", tuple(blocks) or (Block(None, ("Nog geen aantekeningen.",)),))


def _weighing(trace: WeighingTrace) -> Section:
    answers = tuple(
        f"{_one_line(a.question)} — {_one_line(a.answer)} {_when_by(a.answered_at, a.author_role)}"
        for a in trace.answers
    )
    decisions = tuple(
        f"{_one_line(d.question)} {_one_line(d.outcome)}" + (f" ({_moment(d.decided_at)})" if d.decided_at else "")
        for d in trace.decisions
    )
    blocks = [
        Block("Afwegingsvragen", answers or ("Nog niet gewogen.",)),
        Block("Besluiten", decisions or ("Nog geen besluit genomen.",)),
    ]
    if trace.help_plan:
        blocks.append(Block("Afspraken over de hulp", tuple(_one_line(line) for line in trace.help_plan)))
    return Section("Weging en besluiten (stap 4 en 5)", tuple(blocks))


def _contacts(notes: Sequence[NoteLike]) -> Section:
    lines = []
    for note in notes:
        kind = note_kind(note.kind)
        contact_field = kind.contact_field
        value = note.fields.get(contact_field) if contact_field else None
        if contact_field and isinstance(value, str) and value:
            lines.append(f"{_note_moment(note)} — {kind.label} — {kind.field(contact_field).label}: {_one_line(value)}")
    return Section("Contacten", (Block(None, tuple(lines) or ("Nog geen contacten vastgelegd.",)),))


def _followups(followups: Sequence[FollowUpLike]) -> Section:
    lines = tuple(
        f"{dutch_date(f.due_on)}: {_one_line(f.description)} — "
        + (f"afgerond op {dutch_date(f.done_at.astimezone(AMSTERDAM))}" if f.done_at else "open")
        for f in sorted(followups, key=lambda f: f.due_on)
    )
    return Section("Vervolgafspraken", (Block(None, lines or ("Geen vervolgafspraken.",)),))


def build_dossier(
    case: CaseHeader,
    notes: Iterable[NoteLike],
    trace: WeighingTrace,
    followups: Sequence[FollowUpLike],
    org: OrganisationLike,
    generated_at: Optional[datetime] = None,
) -> Dossier:
    """The overview as data: notes in time order, then weighing, contacts and follow-ups."""
    generated = (generated_at or datetime.now(AMSTERDAM)).astimezone(AMSTERDAM)
    ordered = sorted(notes, key=lambda n: n.moment)
    meta = [("Leerling", case.pseudonym), ("Organisatie", org.name)]
    if case.step:
        meta.append(("Huidige stap", case.step))
    if case.opened_at:
        meta.append(("Dossier geopend", dutch_date(case.opened_at.astimezone(AMSTERDAM))))
    meta.append(("Gegenereerd op", f"{dutch_date(generated)} om {generated:%H:%M}"))
    sections = (_timeline(ordered), _weighing(trace), _contacts(ordered), _followups(followups))
    return Dossier(TITLE, tuple(meta), sections, FOOTER)


# --- Markdown ------------------------------------------------------------------------------------


def render_markdown(dossier: Dossier) -> str:
    out: List[str] = [f"# {dossier.title}", ""]
    out += [f"- **{label}:** {value}" for label, value in dossier.meta]
    for section in dossier.sections:
        out += ["", f"## {section.title}"]
        for block in section.blocks:
            if block.heading:
                out += ["", f"### {block.heading}"]
            out += [""] + [f"- {line}" for line in block.lines]
    out += ["", "---", "", f"*{dossier.footer}*", ""]
    return "\n".join(out)


# --- PDF -----------------------------------------------------------------------------------------

_LATIN1 = str.maketrans({"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "•": "-"})


class _DossierPDF(FPDF):
    """A4 with the confidentiality footer on every page."""

    def __init__(self, footer_text: str, unicode_font: bool):
        super().__init__(format="A4")
        self.footer_text = footer_text
        self.font_name = "DejaVu" if unicode_font else "helvetica"
        if unicode_font:
            self.add_font("DejaVu", "", str(DEJAVU_DIR / "DejaVuSans.ttf"))
            self.add_font("DejaVu", "B", str(DEJAVU_DIR / "DejaVuSans-Bold.ttf"))
        self.unicode_font = unicode_font

    def text_for(self, text: str) -> str:
        """Without a Unicode font only Latin-1 can be drawn: map the typography we use, drop the rest."""
        if self.unicode_font:
            return text
        return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(self.font_name, "", 8)
        self.cell(0, 10, self.text_for(f"{self.footer_text} — pagina {self.page_no()}/{{nb}}"), align="C")

    def paragraph(self, text: str, size: float, bold: bool = False, indent: float = 0) -> None:
        self.set_font(self.font_name, "B" if bold else "", size)
        self.set_x(self.l_margin + indent)
        self.multi_cell(0, size * 0.5, self.text_for(text), align="L", new_x="LMARGIN", new_y="NEXT")


def _unicode_font_available() -> bool:
    return all((DEJAVU_DIR / f).exists() for f in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"))


def render_pdf(dossier: Dossier, generated_at: datetime, unicode_font: Optional[bool] = None) -> bytes:
    """Render with DejaVuSans (Debian fonts-dejavu-core) when present, else the core font."""
    pdf = _DossierPDF(dossier.footer, _unicode_font_available() if unicode_font is None else unicode_font)
    pdf.set_title(dossier.title)
    pdf.set_creation_date(generated_at)
    pdf.set_lang("nl")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.paragraph(dossier.title, 16, bold=True)
    pdf.ln(2)
    for label, value in dossier.meta:
        pdf.paragraph(f"{label}: {value}", 10)
    for section in dossier.sections:
        pdf.ln(4)
        pdf.paragraph(section.title, 13, bold=True)
        for block in section.blocks:
            if block.heading:
                pdf.ln(1)
                pdf.paragraph(block.heading, 10, bold=True)
            for line in block.lines:
                pdf.paragraph(f"• {line}", 10, indent=4)
    return bytes(pdf.output())
