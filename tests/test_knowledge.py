"""The knowledge loader and checkers: the real files pass, and each kind of mistake in a copy is
reported with the file and line where it is, so a reviewer can fix it without reading Python."""

from pathlib import Path
from typing import List

import pytest

from bot.knowledge import KnowledgeError, check_sources, source_label
from bot.profiles import check_profiles
from bot.steps import check_steps
from steps_kb import copy_sections, load_copy, steps_kb


def all_problems(root: Path) -> List[str]:
    """Every problem `python -m bot check` would report for the steps sections under ``root``."""
    try:
        kb = load_copy(root)
    except KnowledgeError as exc:
        return exc.problems
    return check_sources(kb) + check_profiles(kb) + check_steps(kb)


def break_file(root: Path, name: str, old: str, new: str) -> int:
    """Replace the first ``old`` in knowledge file ``name``; return the (1-based) line it was on."""
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test fixture out of date: {old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def test_real_files_load_and_pass_every_check():
    kb = steps_kb()
    assert check_sources(kb) == []
    assert check_profiles(kb) == []
    assert check_steps(kb) == []


def test_every_statement_has_a_readable_source_label():
    kb = steps_kb()
    ref = kb.one("steps.yml").steps[1].purpose.source
    assert source_label(ref, kb) == "Augeo Foundation, stappenplan meldcode, stap 2"


# (file, text to replace, replacement, words the problem must contain, line of the problem relative
# to the replaced text: a missing key is reported on its parent's line, one above)
BROKEN = {
    "unknown_document": (
        "steps.yml",
        'source: {doc: onzewijs, section: Stap 1, quote: "De leerkracht vraagt',
        'source: {doc: onze_wijs, section: Stap 1, quote: "De leerkracht vraagt',
        "unknown source document 'onze_wijs'",
        0,
    ),
    "quote_not_in_seed": (
        "situations.yml",
        'quote: "Hulp binnen zeven dagen verkleint de kans op medische en psychische problemen"',
        'quote: "Hulp binnen zeven dagen voorkomt alle problemen"',
        "quote not found",
        0,
    ),
    "unknown_placeholder": (
        "steps.yml",
        "Bespreek de signalen met uw {first_contact}.",
        "Bespreek de signalen met uw {aandachtsfunctionaris}.",
        "unknown placeholder ['aandachtsfunctionaris']",
        0,
    ),
    "unknown_user_role": (
        "steps.yml",
        "roles: [teacher, support_staff, school_leader]",
        "roles: [teacher, support_staff, directeur]",
        "unknown user roles ['directeur']",
        0,
    ),
    "typo_in_a_key": ("steps.yml", "    pitfalls:\n", "    pitfals:\n", "pitfals: extra fields not permitted", 0),
    "situation_without_its_number": (
        "situations.yml",
        "moet het bestuur overleggen met de vertrouwensinspecteur: 0900-111 3 111.",
        "moet het bestuur overleggen met de vertrouwensinspecteur.",
        "must name every number in call",
        -1,
    ),
    "seed_as_national_rule": (
        "steps.yml",
        'source: {doc: afwegingskader_onderwijs_2019, section: Afweging 4, quote: "Spreek af wie welke rol heeft',
        'source: {doc: consent, section: Stap 4 afweging 4, quote: "Spreek af wie welke rol heeft',
        "a national rule must cite a national source, not 'consent'",
        0,
    ),
    "local_first_line": (
        "situations.yml",
        'quote: "Het is niet voldoende om een tussenpersoon te informeren, zoals een lid van de schoolleiding."}',
        'quote: "Het is niet voldoende om een tussenpersoon te informeren, zoals een lid van de schoolleiding.", '
        "local: true}",
        "the first line is the national rule",
        -2,
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_mistake_is_reported_with_file_and_line(tmp_path, case):
    name, old, new, words, offset = BROKEN[case]
    root = copy_sections(tmp_path)
    line = break_file(root, name, old, new) + offset
    problems = all_problems(root)
    assert any(f"{name}:{line}:" in p and words in p for p in problems), problems


def test_danger_terms_only_on_acute_routes(tmp_path):
    root = copy_sections(tmp_path)
    break_file(
        root,
        "situations.yml",
        "    signal_terms:\n      - uithuwelijken\n",
        "    danger_terms:\n      - uithuwelijken\n",
    )
    assert any(
        "situations.yml" in p and "only acute routes (acute: true) have danger_terms" in p for p in all_problems(root)
    )


def test_unknown_move_is_reported(tmp_path):
    root = copy_sections(tmp_path)
    break_file(root, "steps.yml", '"faq:what_to_record"', '"faq:wat_vastleggen"')
    assert any("step 1: unknown move 'faq:wat_vastleggen'" in p for p in all_problems(root))


def test_situation_first_line_must_name_its_numbers(tmp_path):
    root = copy_sections(tmp_path)
    line = break_file(
        root,
        "situations.yml",
        "moet het bestuur overleggen met de vertrouwensinspecteur: 0900-111 3 111.",
        "moet het bestuur overleggen met de vertrouwensinspecteur.",
    )
    problems = all_problems(root)
    # the error points at the `first:` key, the line above the text
    assert any(f"situations.yml:{line - 1}:" in p and "0900-111 3 111" in p for p in problems), problems


def test_duplicate_milestone_ids_are_rejected(tmp_path):
    root = copy_sections(tmp_path)
    break_file(root, "steps.yml", "{id: pupil_talked,", "{id: parents_talked,")
    assert any("milestone ids must be unique" in p and "parents_talked" in p for p in all_problems(root))


def test_a_statement_without_source_is_reported_on_its_line(tmp_path):
    root = copy_sections(tmp_path)
    path = root / "faq" / "law.yml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.strip().startswith("source:"))
    path.write_text("".join(lines[:first] + lines[first + 1 :]), encoding="utf-8")
    # a missing key is reported on its parent's line: the statement's `- text:` just above
    assert any(f"faq/law.yml:{first}:" in p and "field required" in p for p in all_problems(root))


def test_a_missing_folder_is_reported(tmp_path):
    root = copy_sections(tmp_path)
    for path in (root / "faq").glob("*.yml"):
        path.unlink()
    assert "knowledge/faq/: missing" in all_problems(root)


def test_yaml_syntax_error_names_the_file(tmp_path):
    root = copy_sections(tmp_path)
    break_file(root, "faq/law.yml", "faq:\n", "faq: [\n")
    assert any("faq/law.yml" in p and "YAML syntax error" in p for p in all_problems(root))
