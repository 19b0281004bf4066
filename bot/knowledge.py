"""Typed, validated, read-only view over the YAML files in ``knowledge/``.

Why this module exists: the meldcode is the product's core, and it must be reviewable by people who
know the protocol but not Python. So every protocol statement lives in YAML, carries its source, and is
validated here before the bot may use it. A mistake in the data must stop ``python -m bot check`` with
the file and line of the error, never surface as a wrong answer to a teacher.

Each capability owns the schema of its own file (``bot/<capability>.py`` defines a pydantic model);
``SECTIONS`` below names them, so this module stays the single place that knows which file is which.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Type

from pydantic import BaseModel, Extra, ValidationError, validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

REPO_ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = REPO_ROOT / "knowledge"
SHARED_DIR = REPO_ROOT.parent / "shared"

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class KnowledgeError(Exception):
    """A problem in a knowledge file, reported as ``file:line: message``."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class Model(BaseModel):
    """Base for every knowledge model: immutable, no unknown keys (typos must fail loudly)."""

    class Config:
        extra = Extra.forbid
        allow_mutation = False
        anystr_strip_whitespace = True


class SourceRef(Model):
    """Where a statement comes from: a document id from ``sources.yml`` and a section in it.

    ``quote`` is an optional verbatim excerpt; when the document's text is available (the seeds in
    ../shared), ``check`` verifies that the quote really occurs in it.
    """

    doc: str
    section: str
    quote: Optional[str] = None
    label: Optional[str] = None


class Statement(Model):
    """One protocol statement shown to users. ``roles`` limits it to user roles (empty = everyone)."""

    text: str
    source: SourceRef
    roles: List[str] = []


class Document(Model):
    """A source document: a seed protocol, a domain data file or a national text."""

    id: str
    title: str
    label: str
    kind: str
    file: Optional[str] = None
    url: Optional[str] = None
    date: Optional[str] = None
    note: Optional[str] = None

    @validator("kind")
    def _known_kind(cls, value: str) -> str:
        if value not in {"seed", "domain", "national"}:
            raise ValueError("kind must be seed, domain or national")
        return value


class Sources(Model):
    documents: List[Document]

    def get(self, doc_id: str) -> Optional[Document]:
        return next((d for d in self.documents if d.id == doc_id), None)


# file (relative to knowledge/) or folder (every *.yml in it) -> "module:Model"
SECTIONS: Dict[str, str] = {
    "sources.yml": "bot.knowledge:Sources",
    "steps.yml": "bot.steps:StepsKnowledge",
    "situations.yml": "bot.steps:SituationsKnowledge",
    "faq.yml": "bot.steps:FaqKnowledge",
    "organisations/": "bot.profiles:Organisation",
    "weighing.yml": "bot.weighing:WeighingKnowledge",
    "contacts.yml": "bot.contacts:NationalContacts",
    "regions/": "bot.contacts:RegionFile",
    "practice_cases.yml": "bot.learning:PracticeKnowledge",
}


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    raw: Any
    model: Model


_yaml = YAML(typ="rt")


def _model_class(target: str) -> Type[Model]:
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def _line_of(raw: Any, loc: Tuple[Any, ...]) -> int:
    """Best line number (1-based) for a pydantic error location inside ruamel's round-trip data."""
    node, line = raw, 1
    for key in loc:
        try:
            if isinstance(node, CommentedMap) and key in node:
                line = node.lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
                line = node.lc.item(key)[0] + 1
                node = node[key]
            else:
                break
        except (KeyError, TypeError, AttributeError):
            break
    return line


def _to_plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {str(k): _to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_to_plain(v) for v in node]
    return node


def _display_path(path: Path) -> Path:
    """Repo-relative path for messages; files outside the repo (test copies) keep their full path."""
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def location(loaded: LoadedFile, loc: Tuple[Any, ...]) -> str:
    """``file:line`` of a location (as yielded by ``iter_models``) inside a loaded file."""
    return f"{_display_path(loaded.path)}:{_line_of(loaded.raw, loc)}"


def load_file(path: Path, model_cls: Type[Model]) -> LoadedFile:
    """Parse and validate one YAML file; raise KnowledgeError with ``file:line`` on any problem."""
    rel = _display_path(path)
    try:
        raw = _yaml.load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # ruamel raises several unrelated types for syntax errors
        raise KnowledgeError([f"{rel}: YAML syntax error: {exc}"]) from exc
    try:
        model = model_cls.parse_obj(_to_plain(raw))
    except ValidationError as exc:
        raise KnowledgeError(
            [f"{rel}:{_line_of(raw, err['loc'])}: {'.'.join(map(str, err['loc']))}: {err['msg']}"
             for err in exc.errors()]
        ) from exc
    return LoadedFile(path=path, raw=raw, model=model)


def _section_paths(section: str, root: Path) -> List[Path]:
    if section.endswith("/"):
        return sorted((root / section).glob("*.yml"))
    return [root / section]


@dataclass(frozen=True)
class KnowledgeBase:
    """Every knowledge file, validated. Look models up by their section name."""

    files: Dict[str, Tuple[LoadedFile, ...]]

    def one(self, section: str) -> Any:
        return self.files[section][0].model

    def many(self, section: str) -> List[Any]:
        return [f.model for f in self.files[section]]

    def sources(self) -> Sources:
        return self.one("sources.yml")


def load_all(root: Path = KNOWLEDGE_DIR, sections: Optional[Mapping[str, str]] = None) -> KnowledgeBase:
    """Load every section; collect all problems before raising so one run shows them all."""
    problems: List[str] = []
    files: Dict[str, Tuple[LoadedFile, ...]] = {}
    for section, target in (sections or SECTIONS).items():
        paths = _section_paths(section, root)
        if not paths or not all(p.exists() for p in paths):
            problems.append(f"knowledge/{section}: missing")
            continue
        loaded = []
        for path in paths:
            try:
                loaded.append(load_file(path, _model_class(target)))
            except KnowledgeError as exc:
                problems.extend(exc.problems)
        files[section] = tuple(loaded)
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(files=files)


@lru_cache(maxsize=1)
def knowledge() -> KnowledgeBase:
    """The knowledge base of this checkout, loaded once per process (it is read-only)."""
    return load_all()


# --- cross-file checks -------------------------------------------------------------------------


def iter_models(node: Any, path: Tuple[Any, ...] = ()) -> Iterator[Tuple[Tuple[Any, ...], Any]]:
    """Walk a model tree, yielding (location, value) for every nested model and list item."""
    yield path, node
    if isinstance(node, BaseModel):
        for name in node.__fields__:
            yield from iter_models(getattr(node, name), path + (name,))
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            yield from iter_models(item, path + (i,))
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from iter_models(item, path + (key,))


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


@lru_cache(maxsize=None)
def document_text(file: str) -> Optional[str]:
    """Normalised text of a source document in ../shared, or None when it is not on this machine."""
    path = SHARED_DIR / file
    return _normalise(path.read_text(encoding="utf-8")) if path.exists() else None


def check_sources(kb: KnowledgeBase) -> List[str]:
    """Every SourceRef must name a known document; every quote must occur in that document."""
    sources = kb.sources()
    problems = []
    for section, loaded_files in kb.files.items():
        for loaded in loaded_files:
            for loc, value in iter_models(loaded.model):
                if not isinstance(value, SourceRef):
                    continue
                where = location(loaded, loc)
                doc = sources.get(value.doc)
                if doc is None:
                    problems.append(f"{where}: unknown source document '{value.doc}'")
                    continue
                if value.quote and doc.file:
                    text = document_text(doc.file)
                    if text is not None and _normalise(value.quote) not in text:
                        problems.append(f"{where}: quote not found in {doc.file}: {value.quote!r}")
    return problems


def source_label(ref: SourceRef, kb: Optional[KnowledgeBase] = None) -> str:
    """The words a teacher sees after 'Bron:' (e.g. 'protocol Stichting Consent, stap 4')."""
    if ref.label:
        return ref.label
    doc = (kb or knowledge()).sources().get(ref.doc)
    name = doc.label if doc else ref.doc
    return f"{name}, {ref.section[:1].lower()}{ref.section[1:]}"
