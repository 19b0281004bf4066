"""The knowledge sections owned by the steps capability, loaded without the other capabilities'
files, so these tests do not depend on work in progress elsewhere."""

from functools import lru_cache
from pathlib import Path
from typing import Dict

from bot.knowledge import KNOWLEDGE_DIR, SECTIONS, KnowledgeBase, load_all

STEPS_SECTIONS: Dict[str, str] = {
    name: SECTIONS[name] for name in ("sources.yml", "steps.yml", "situations.yml", "faq/", "organisations/")
}


@lru_cache(maxsize=1)
def steps_kb() -> KnowledgeBase:
    return load_all(sections=STEPS_SECTIONS)


def load_copy(root: Path) -> KnowledgeBase:
    return load_all(root=root, sections=STEPS_SECTIONS)


def copy_sections(target: Path) -> Path:
    """Copy this capability's knowledge files to ``target`` (to break one of them in a test)."""
    for section in STEPS_SECTIONS:
        paths = sorted((KNOWLEDGE_DIR / section).glob("*.yml")) if section.endswith("/") else [KNOWLEDGE_DIR / section]
        for path in paths:
            dest = target / path.relative_to(KNOWLEDGE_DIR)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    for path in sorted((KNOWLEDGE_DIR / "sources").glob("*.md")):  # national excerpts belong to sources.yml
        dest = target / "sources" / path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return target
