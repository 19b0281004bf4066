"""Integrity of the held-out set of real staff questions (tests/data/heldout/).

The set only measures honestly if it is big and varied enough, every row says where it came from and
which answer topic is right, and not one of its texts has found its way into the training data or the
knowledge (then the model would have seen the exam). These checks are fast and need no Rasa."""

import re
from collections import Counter
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple
from urllib.parse import urlparse

import yaml

from bot.steps import faq_ids

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "tests" / "data" / "heldout"
KINDS = ("question", "situation", "first_message", "acute", "english")
FIELDS = {"text", "expected", "also", "source", "kind", "verbatim"}
OTHER_LABEL = re.compile(r"^other:[a-z0-9_]+$")


def load_rows(path: Path = HELDOUT / "questions.yml") -> List[Dict]:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)["rows"]


def load_labels(path: Path = HELDOUT / "labels.txt") -> Tuple[Set[str], Set[str]]:
    """(FAQ ids, non-FAQ labels) from labels.txt: `faq <id>` / `label <id>` lines, `#` comments."""
    faq: Set[str] = set()
    other: Set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, label = line.split()
        (faq if kind == "faq" else other).add(label)
    return faq, other


def normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def source_key(url: str) -> str:
    """A source is a page: host (without www.) plus path, so query strings do not count twice."""
    parsed = urlparse(url)
    return parsed.netloc.lower().removeprefix("www.") + parsed.path.rstrip("/")


def field_problems(rows: List[Dict]) -> List[str]:
    problems = []
    for number, row in enumerate(rows, 1):
        if set(row) - FIELDS:
            problems.append(f"row {number}: unknown keys {sorted(set(row) - FIELDS)}")
        for key in ("text", "expected", "source", "kind"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                problems.append(f"row {number}: missing {key}")
        if row.get("kind") not in KINDS:
            problems.append(f"row {number}: kind {row.get('kind')!r} not one of {KINDS}")
        if not isinstance(row.get("verbatim"), bool):
            problems.append(f"row {number}: verbatim must be true or false")
        if not str(row.get("source", "")).startswith(("http://", "https://")):
            problems.append(f"row {number}: source is not a public URL")
        if not isinstance(row.get("also", []), list):
            problems.append(f"row {number}: also must be a list")
    return problems


def label_problems(rows: List[Dict], faq: Set[str], other: Set[str]) -> List[str]:
    known = faq | other
    problems = []
    for number, row in enumerate(rows, 1):
        for label in [row.get("expected")] + list(row.get("also", [])):
            if label not in known and not OTHER_LABEL.match(str(label)):
                problems.append(f"row {number}: unknown label {label!r}")
        if row.get("expected") in row.get("also", []):
            problems.append(f"row {number}: {row['expected']} is both expected and also")
    return problems


CITATION_KEYS = {"source", "quote", "section"}


def _texts(node: object) -> Iterator[str]:
    """Every string in a YAML document except citations: a `source: {doc, section, quote}` repeats the
    words of the public page it cites, which is no training data and is never indexed for retrieval."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in CITATION_KEYS:
                yield from _texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _texts(value)
    elif isinstance(node, str):
        yield node


def readable_text(path: Path) -> str:
    """What the NLU, the FAQ and retrieval can read from one file (raw text if it does not parse)."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix in (".yml", ".yaml"):
        try:
            return "\n".join(_texts(yaml.safe_load(raw)))
        except yaml.YAMLError:
            return raw
    return raw


def leaks(rows: List[Dict], roots: List[Path], excluded: Tuple[Path, ...] = ()) -> List[str]:
    """Held-out texts found (case and whitespace folded) in any file under ``roots``."""
    texts = {normalise(row["text"]): row["text"] for row in rows}
    found = []
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if any(part in path.parents for part in excluded):
                continue
            try:
                content = normalise(readable_text(path))
            except UnicodeDecodeError:
                continue
            found += [f"{path.relative_to(ROOT)}: {text!r}" for key, text in texts.items() if key in content]
    return found


def test_the_set_has_at_least_150_rows():
    assert len(load_rows()) >= 150


def test_rows_come_from_at_least_20_distinct_public_pages():
    sources = {source_key(row["source"]) for row in load_rows()}
    assert len(sources) >= 20, sorted(sources)


def test_every_row_has_text_expected_source_kind_and_verbatim():
    assert field_problems(load_rows()) == []


def test_the_mix_covers_questions_first_messages_acute_danger_and_english():
    kinds = Counter(row["kind"] for row in load_rows())
    assert kinds["question"] >= 110, kinds
    assert kinds["situation"] + kinds["first_message"] >= 40, kinds
    assert kinds["acute"] >= 12, kinds
    assert kinds["english"] >= 8, kinds


def test_every_expected_topic_is_a_known_label_or_a_named_gap():
    faq, other = load_labels()
    assert label_problems(load_rows(), faq, other) == []


def test_no_two_rows_have_the_same_text():
    counts = Counter(normalise(row["text"]) for row in load_rows())
    assert [text for text, count in counts.items() if count > 1] == []


def test_no_held_out_text_occurs_in_training_data_or_knowledge():
    """All of data/ and every text of knowledge/ (questions, variants, answers, steps, situations).
    Not checked: citations and knowledge/sources/*.md, the verbatim excerpts of the very public pages
    these questions were collected from (they hold the page's own headings and feed only quote checks)."""
    excerpts = (ROOT / "knowledge" / "sources",)
    assert leaks(load_rows(), [ROOT / "data", ROOT / "knowledge"], excerpts) == []


def test_every_faq_label_exists_as_an_faq_entry():
    """Fails until every FAQ topic of the taxonomy is written in knowledge/faq/ (intended)."""
    faq, _ = load_labels()
    assert sorted(faq - set(faq_ids())) == []
