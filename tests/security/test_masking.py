"""Attack: names and identifiers typed into the dossier. Measured on tests/data/masking/corpus.yml
(412 sentences written for this test; its last 40 were written after the masker was tuned): name recall
>= 99%, identifiers 100%, name-free sentences changed <= 3%, every row with an exact expected text
comes out exactly so, and the case's masker reaches every free-text field that is stored.

Figures (pseudonym "Leerling K7", one case per sentence; `benchmarks/masking.py` prints them):
- before (``mask_names`` of commit 053b0c2 with its lists): name recall 76.2% (179/235), identifiers
  7.0% (6/86), name-free sentences changed 12.2% (18/147), exact rows 15/36.
- after (``CaseMasker``): name recall 100% (235/235), identifiers 100% (86/86), name-free changed 0%
  (0/147), exact rows 36/36. The corpus was also the tuning set, so read 100% as "no known miss".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Sequence

import pytest
import yaml

from bot.privacy import PARTICLES, CaseMasker, masker_for, masker_state

CORPUS = Path(__file__).resolve().parents[1] / "data" / "masking" / "corpus.yml"
PSEUDONYM = "Leerling K7"

NAME_RECALL_TARGET = 0.99
NAME_FREE_CHANGED_TARGET = 0.03


def load_corpus() -> List[Dict[str, object]]:
    return list(yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["sentences"])


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().replace("’", "'")


def name_gone(name: str, masked: str) -> bool:
    """Every word of the name (particles aside) is gone from the masked text, in any case."""
    words = set(re.findall(r"\w+", _fold(re.sub(r"['’]s\b", "", masked))))
    return all(part not in words for part in re.findall(r"\w+", _fold(name)) if part not in PARTICLES)


def identifier_gone(identifier: str, masked: str) -> bool:
    """Not there as typed, nor its digits (6 or more), nor its street word."""
    digits = re.sub(r"\D", "", identifier)
    if identifier in masked or (len(digits) >= 6 and digits in re.sub(r"\D", "", masked)):
        return False
    return all(
        word not in masked
        for word in re.findall(r"[A-Za-z]{4,}", identifier)
        if not word.islower() or "@" in identifier
    )


@dataclass(frozen=True)
class Figures:
    names: int
    names_gone: int
    identifiers: int
    identifiers_gone: int
    name_free: int
    name_free_changed: int
    exact: int
    exact_ok: int
    misses: Sequence[str]

    @property
    def name_recall(self) -> float:
        return self.names_gone / self.names

    @property
    def identifier_recall(self) -> float:
        return self.identifiers_gone / self.identifiers

    @property
    def changed_rate(self) -> float:
        return self.name_free_changed / self.name_free

    def line(self) -> str:
        return (
            f"name recall {self.name_recall:.1%} ({self.names_gone}/{self.names}), identifiers "
            f"{self.identifier_recall:.1%} ({self.identifiers_gone}/{self.identifiers}), name-free changed "
            f"{self.changed_rate:.1%} ({self.name_free_changed}/{self.name_free}), exact rows "
            f"{self.exact_ok}/{self.exact}"
        )


def measure(rows: Sequence[Mapping[str, object]], mask: Callable[[str], str]) -> Figures:
    """Mask every row as its own case and count what went and what stayed."""
    counts = dict.fromkeys(
        (
            "names",
            "names_gone",
            "identifiers",
            "identifiers_gone",
            "name_free",
            "name_free_changed",
            "exact",
            "exact_ok",
        ),
        0,
    )
    misses: List[str] = []
    for row in rows:
        text = str(row["text"])
        masked = mask(text)
        names = [str(n) for n in row.get("names") or []]
        identifiers = [str(i) for i in row.get("identifiers") or []]
        for name in names:
            counts["names"] += 1
            gone = name_gone(name, masked)
            counts["names_gone"] += gone
            if not gone:
                misses.append(f"name {name!r}: {masked}")
        for identifier in identifiers:
            counts["identifiers"] += 1
            gone = identifier_gone(identifier, masked)
            counts["identifiers_gone"] += gone
            if not gone:
                misses.append(f"identifier {identifier!r}: {masked}")
        if not names and not identifiers:
            counts["name_free"] += 1
            if masked != text:
                counts["name_free_changed"] += 1
                misses.append(f"changed: {text!r} -> {masked!r}")
        if "masked" in row:
            counts["exact"] += 1
            if masked == row["masked"]:
                counts["exact_ok"] += 1
            else:
                misses.append(f"exact: {masked!r} != {row['masked']!r}")
    return Figures(misses=tuple(misses), **counts)


def mask_case(text: str) -> str:
    return CaseMasker(PSEUDONYM).mask(text)[0].text


@pytest.fixture(scope="module")
def figures() -> Figures:
    return measure(load_corpus(), mask_case)


def test_the_corpus_is_large_and_covers_every_kind() -> None:
    rows = load_corpus()
    assert len(rows) >= 300
    with_names = [r for r in rows if r.get("names")]
    assert len(with_names) >= 150 and sum(1 for r in rows if r.get("identifiers")) >= 50
    assert sum(1 for r in rows if not r.get("names") and not r.get("identifiers")) >= 100
    texts = " ".join(str(r["text"]) for r in with_names)
    for sign in (
        "'s ",
        "’s ",
        "Dhr.",
        "Mw.",
        "mevr.",
        "fatma huilde",
        "Öztürk",
        "Wiśniewska",
        "Tesfay",
        "Shevchenko",
        "Ramcharan",
        "Sjoukje",
    ):
        assert sign in texts, sign


def test_name_recall_is_at_least_99_percent(figures: Figures) -> None:
    assert figures.name_recall >= NAME_RECALL_TARGET, figures.line() + "\n" + "\n".join(figures.misses)


def test_every_identifier_is_masked(figures: Figures) -> None:
    assert figures.identifiers_gone == figures.identifiers, figures.line() + "\n" + "\n".join(figures.misses)


def test_name_free_sentences_are_rarely_changed(figures: Figures) -> None:
    assert figures.changed_rate <= NAME_FREE_CHANGED_TARGET, figures.line() + "\n" + "\n".join(figures.misses)


def test_rows_with_an_exact_expectation_come_out_exactly(figures: Figures) -> None:
    assert figures.exact_ok == figures.exact, figures.line() + "\n" + "\n".join(figures.misses)


# --- one person, one placeholder, across the fields and notes of a case ----------------------------


def test_a_name_keeps_its_placeholder_across_fields_and_notes() -> None:
    fields = [
        "Bilal en Ahmed pestten hem in de pauze.",
        "Moeder Fatma Yilmaz kwam verhaal halen.",
        "Later zei ahmed dat Bilal begonnen was; mevrouw Yilmaz was boos.",
    ]
    state: object = None
    out = []
    for text in fields:
        result, known = masker_for(state, "case-1", PSEUDONYM).mask(text)
        state = masker_state("case-1", known)
        out.append(result.text)
    assert out == [
        "[persoon 1] en [persoon 2] pestten hem in de pauze.",
        "[moeder] kwam verhaal halen.",
        "Later zei [persoon 2] dat [persoon 1] begonnen was; [moeder] was boos.",
    ]


def test_a_name_only_the_case_knows_is_still_found() -> None:
    _, known = CaseMasker(PSEUDONYM).mask("Klasgenoot Xandrine zag het.")
    result, _ = CaseMasker(PSEUDONYM, known).mask("daarna huilde xandrine")
    assert result.text == "daarna huilde [klasgenoot]"


def test_the_state_of_another_case_is_not_used() -> None:
    _, known = CaseMasker(PSEUDONYM).mask("Xandrine en Bilal waren er.")
    masker = masker_for(masker_state("case-1", known), "case-2", PSEUDONYM)
    assert masker.known == {}
    assert masker.mask("Bilal kwam.")[0].text == "[persoon 1] kwam."


def test_masking_twice_changes_nothing_more() -> None:
    once, known = CaseMasker(PSEUDONYM).mask("Dhr. Öztürk (06-12345678) en Julia's moeder, Kerkstraat 12.")
    assert CaseMasker(PSEUDONYM, known).mask(once.text)[0].text == once.text


@pytest.mark.parametrize(
    "text",
    [
        "0800-2000",
        "112",
        "0800-0432",
        "Het kenmerk is VT-2024-118734.",
        "Leerlingnummer 45821",
        "Op 12-11-2024 om 10:15.",
    ],
)
def test_national_numbers_and_ordinary_numbers_stay(text: str) -> None:
    assert mask_case(text) == text


@pytest.mark.parametrize(
    "digits,valid",
    [("725763863", True), ("725763864", False), ("12345678", False), ("000000000", False), ("111222333", True)],
)
def test_a_bsn_without_context_needs_the_11_proef(digits: str, valid: bool) -> None:
    assert (mask_case(f"Nummer {digits} staat op het formulier.") == "Nummer [bsn] staat op het formulier.") is valid


# --- every free-text field that reaches the store goes through the case's masker ----------------


async def test_note_fields_share_the_case_masker(domain) -> None:  # type: ignore[no-untyped-def]
    from actions.notes import ValidateNoteForm
    from tests.test_actions_notes import note_tracker, run, slot

    values = {"moment": "2024-11-12", "plaats": "klas", "situatie": "gym", "aanwezigen": "geen"}
    _, events = await run(
        ValidateNoteForm(), note_tracker("case-7", "Bilal en Ahmed pestten hem.", values=values), domain
    )
    state = slot(events, "case_masker")
    assert slot(events, "note_fields")["values"]["waarnemingen"] == "[persoon 1] en [persoon 2] pestten hem."
    values = slot(events, "note_fields")["values"]
    dispatcher, events = await run(
        ValidateNoteForm(),
        note_tracker("case-7", "ahmed zei dat Bilal begon.", values=values, case_masker=state),
        domain,
    )
    assert slot(events, "note_fields")["values"]["hypothese"] == "[persoon 2] zei dat [persoon 1] begon."
    assert not any(name in str(dispatcher.messages) for name in ("Bilal", "ahmed", "Ahmed"))


@pytest.mark.parametrize("slot_name", ["weighing_casemanager", "weighing_tasks", "weighing_term"])
async def test_help_plan_fields_are_masked_with_the_case_masker(domain, slot_name: str) -> None:  # type: ignore[no-untyped-def]
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.weighing import ValidateWeighingForm

    _, known = CaseMasker(PSEUDONYM).mask("Moeder Fatma Yilmaz was boos.")
    text = "mevrouw Yilmaz en dhr. Kowalski van het wijkteam, 06-12345678"
    tracker = Tracker.from_dict(
        {
            "sender_id": "plan-teacher",
            "events": [],
            "paused": False,
            "followup_action": None,
            "slots": {
                "case_id": "case-7",
                "pseudonym": PSEUDONYM,
                "case_masker": masker_state("case-7", known),
                "requested_slot": slot_name,
            },
            "latest_message": {"text": text, "intent": {"name": "nlu_fallback"}, "entities": []},
            "active_loop": {"name": "weighing_form"},
            "latest_action_name": "action_listen",
        }
    )
    validate = getattr(ValidateWeighingForm(), f"validate_{slot_name}")
    result = await validate(text, CollectingDispatcher(), tracker, domain)
    assert result[slot_name] == "[moeder] en [persoon 1] van het wijkteam, [telefoonnummer]"
    assert masker_for(result["case_masker"], "case-7", PSEUDONYM).known["kowalski"] == "[persoon 1]"
