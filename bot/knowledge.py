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
import threading
from dataclasses import dataclass
from functools import lru_cache, cache
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Type, cast

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
    ../shared, the national excerpts in ``knowledge/sources/``), ``check`` verifies that the quote really
    occurs in it. ``local`` marks a statement that is one organisation's own addition to the national
    rule (its roles, bodies, contacts or extra care): only such a statement may rest on a school protocol
    alone in the national-rule files (see ``NATIONAL_RULE_SECTIONS``).
    """

    doc: str
    section: str
    quote: Optional[str] = None
    label: Optional[str] = None
    local: bool = False


class Statement(Model):
    """One protocol statement shown to users. ``roles`` limits it to user roles (empty = everyone)."""

    text: str
    source: SourceRef
    roles: List[str] = []


# seed: a school's protocol; domain: national data files (CBS regions, national contacts); national: an
# official national text (law, framework, Veilig Thuis); reference: our own summaries (the glossary),
# useful for words but never the source of a rule.
DOCUMENT_KINDS = frozenset({"seed", "domain", "national", "reference"})
# What a national rule may rest on.
NATIONAL_KINDS = frozenset({"national", "domain"})


class Document(Model):
    """A source document: a seed protocol, national data, a national text or a reference summary.

    ``file`` is relative to ../shared for seeds and domain data; a national document's ``file`` is its
    stored excerpt in this repository (``knowledge/sources/<id>.md``), so its quotes are checkable on
    every machine, with the public ``url``, ``publisher``, ``date`` and the ``retrieved`` date beside it.
    """

    id: str
    title: str
    label: str
    kind: str
    file: Optional[str] = None
    url: Optional[str] = None
    publisher: Optional[str] = None
    date: Optional[str] = None
    retrieved: Optional[str] = None
    note: Optional[str] = None

    @validator("kind")
    def _known_kind(cls, value: str) -> str:
        if value not in DOCUMENT_KINDS:
            raise ValueError(f"kind must be one of {sorted(DOCUMENT_KINDS)}")
        return value

    @validator("retrieved", always=True)
    def _national_is_traceable(cls, value: Optional[str], values: Dict[str, Any]) -> Optional[str]:
        if values.get("kind") == "national":
            missing = [name for name in ("url", "publisher", "date") if not values.get(name)]
            if not value:
                missing.append("retrieved")
            if missing:
                raise ValueError(f"a national document needs {', '.join(missing)}")
        return value


class Sources(Model):
    documents: List[Document]

    def get(self, doc_id: str) -> Optional[Document]:
        return next((d for d in self.documents if d.id == doc_id), None)


class NationalExcerpt(Model):
    """``knowledge/sources/<id>.md``: the front matter describes the document, the body is its excerpt."""

    id: str
    title: str
    label: str
    publisher: str
    date: str
    url: str
    retrieved: str
    note: Optional[str] = None

    def document(self, file: str) -> Document:
        return Document(kind="national", file=file, **self.dict())


EXCERPTS_DIR = "sources"
FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.S)


# file (relative to knowledge/) or folder (every *.yml in it) -> "module:Model"
SECTIONS: Dict[str, str] = {
    "sources.yml": "bot.knowledge:Sources",
    "steps.yml": "bot.steps:StepsKnowledge",
    "situations.yml": "bot.steps:SituationsKnowledge",
    "faq/": "bot.steps:FaqKnowledge",
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


def _yaml() -> YAML:
    """A round-trip reader per load: ruamel's YAML object keeps parser state and is not thread-safe
    (the retrieval index warms up in a background thread while a request loads the knowledge)."""
    return YAML(typ="rt")


def _model_class(target: str) -> Type[Model]:
    module_name, class_name = target.split(":")
    model_cls: Type[Model] = getattr(importlib.import_module(module_name), class_name)
    return model_cls


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
        raw = _yaml().load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # ruamel raises several unrelated types for syntax errors
        raise KnowledgeError([f"{rel}: YAML syntax error: {exc}"]) from exc
    try:
        model = model_cls.parse_obj(_to_plain(raw))
    except ValidationError as exc:
        raise KnowledgeError(
            [
                f"{rel}:{_line_of(raw, err['loc'])}: {'.'.join(map(str, err['loc']))}: {err['msg']}"
                for err in exc.errors()
            ]
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
        sources: Sources = self.one("sources.yml")
        return sources


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
    if "sources.yml" in files and not problems:
        try:
            files["sources.yml"] = (_with_excerpts(files["sources.yml"][0], root),)
        except KnowledgeError as exc:
            problems.extend(exc.problems)
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(files=files)


def _excerpt_document(path: Path, root: Path) -> Document:
    """One national excerpt file as a Document; its front matter must describe it fully."""
    rel = _display_path(path)
    match = FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    if not match:
        raise KnowledgeError([f"{rel}:1: expected '---' front matter, then the excerpt"])
    try:
        meta = NationalExcerpt.parse_obj(_to_plain(_yaml().load(match.group(1))))
    except ValidationError as exc:
        raise KnowledgeError([f"{rel}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]) from exc
    except Exception as exc:  # ruamel's syntax errors
        raise KnowledgeError([f"{rel}: front matter: {exc}"]) from exc
    if meta.id != path.stem:
        raise KnowledgeError([f"{rel}:2: id '{meta.id}' must equal the file name '{path.stem}'"])
    if not match.group(2).strip():
        raise KnowledgeError([f"{rel}: the excerpt is empty"])
    return meta.document(str(_display_path(path)))


def _with_excerpts(loaded: LoadedFile, root: Path) -> LoadedFile:
    """``sources.yml`` plus one document per ``knowledge/sources/*.md``; ids must stay unique."""
    problems: List[str] = []
    extra: List[Document] = []
    for path in sorted((root / EXCERPTS_DIR).glob("*.md")):
        try:
            extra.append(_excerpt_document(path, root))
        except KnowledgeError as exc:
            problems.extend(exc.problems)
    listed = cast(Sources, loaded.model)  # the "sources.yml" section is loaded as Sources
    known = {d.id for d in listed.documents}
    problems += [f"knowledge/sources/{d.id}.md: id also in sources.yml" for d in extra if d.id in known]
    if problems:
        raise KnowledgeError(problems)
    return LoadedFile(path=loaded.path, raw=loaded.raw, model=Sources(documents=[*listed.documents, *extra]))


_knowledge_lock = threading.Lock()


@lru_cache(maxsize=1)
def _loaded() -> KnowledgeBase:
    return load_all()


def knowledge() -> KnowledgeBase:
    """The knowledge base of this checkout, loaded once per process (it is read-only). The lock makes
    a second thread wait for the first load instead of loading (and validating) it again."""
    with _knowledge_lock:
        return _loaded()


# --- cross-file checks -------------------------------------------------------------------------

Check = Callable[["KnowledgeBase"], List[str]]
# capability (the last part of the module name that owns a section in SECTIONS) -> its check
CHECKS: Dict[str, Check] = {}


def check(capability: str) -> Callable[[Check], Check]:
    """Register the decorated function as the cross-file check of ``capability`` for ``bot check``.

    Why a registry: a check looked up by its function name stops running without a sound when it is
    renamed; a registered one runs whatever it is called, and ``missing_checks`` makes a capability
    whose check is gone fail ``bot check``.
    """

    def register(func: Check) -> Check:
        CHECKS[capability] = func
        return func

    return register


def section_owners(sections: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """capability -> module for every module that owns a knowledge section (``bot.steps`` -> ``steps``)."""
    modules = (target.split(":")[0] for target in (sections or SECTIONS).values())
    return {module.rpartition(".")[2]: module for module in modules}


def registered_checks(sections: Optional[Mapping[str, str]] = None) -> Dict[str, Check]:
    """The registered checks, after importing every module that owns a section (so they registered)."""
    for module in section_owners(sections).values():
        importlib.import_module(module)
    return dict(CHECKS)


def missing_checks(sections: Optional[Mapping[str, str]] = None) -> List[str]:
    """One problem per capability that owns a knowledge section but registered no ``@check``."""
    registered = registered_checks(sections)
    return [
        f"{module}: no check registered for '{capability}' (decorate its check with @check({capability!r}))"
        for capability, module in sorted(section_owners(sections).items())
        if capability not in registered
    ]


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


def _document_path(doc: Document) -> Path:
    """National excerpts live in the repo; seeds and domain data in ../shared."""
    return (REPO_ROOT if doc.kind == "national" else SHARED_DIR) / cast(str, doc.file)  # callers check doc.file


@cache
def _text_at(path: Path) -> Optional[str]:
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    match = FRONT_MATTER.match(text)
    return _normalise(match.group(2) if match else text)


def document_text(doc: Document) -> Optional[str]:
    """Normalised text of a source document (an excerpt's body), or None when it is not on this machine."""
    return _text_at(_document_path(doc)) if doc.file else None


# Files whose statements are national rules: they must cite a national document, or be marked
# ``local: true`` (one organisation's own addition, sourced to its protocol).
NATIONAL_RULE_SECTIONS = ("steps.yml", "situations.yml", "weighing.yml", "faq/")


@check("knowledge")
def check_sources(kb: KnowledgeBase) -> List[str]:
    """Every SourceRef names a known document and its quote occurs there; a national rule cites a
    national document unless it is marked local (then it must cite a seed, the organisation's own text)."""
    sources = kb.sources()
    problems = []
    for section, loaded_files in kb.files.items():
        national_rules = section in NATIONAL_RULE_SECTIONS
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
                    text = document_text(doc)
                    if text is not None and _normalise(value.quote) not in text:
                        problems.append(f"{where}: quote not found in {doc.file}: {value.quote!r}")
                if national_rules and value.local and doc.kind != "seed":
                    problems.append(
                        f"{where}: 'local: true' is for a school protocol's own addition; '{value.doc}' is not a seed"
                    )
                if national_rules and not value.local and doc.kind not in NATIONAL_KINDS:
                    problems.append(
                        f"{where}: a national rule must cite a national source, not "
                        f"'{value.doc}' ({doc.kind}); or mark it 'local: true'"
                    )
    return problems


def source_label(ref: SourceRef, kb: Optional[KnowledgeBase] = None) -> str:
    """The words a teacher sees after 'Bron:' (e.g. 'protocol Stichting Consent, stap 4')."""
    if ref.label:
        return ref.label
    doc = (kb or knowledge()).sources().get(ref.doc)
    name = doc.label if doc else ref.doc
    return f"{name}, {ref.section[:1].lower()}{ref.section[1:]}"
