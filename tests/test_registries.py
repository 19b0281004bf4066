"""Lists that used to fail silently, now derived from their one source and checked.

- Note kinds -> buttons: every kind in ``bot.notes.NOTE_KINDS`` gets its "... vastleggen" button from
  its own label; there is no second list in the actions to forget a kind in.
- Knowledge checks: each capability registers its cross-file check with ``@check`` (bot.knowledge);
  ``python -m bot check`` runs every registered check and fails when a capability that owns a
  knowledge section has none (a check removed or renamed can no longer stop running unnoticed).
- Forms: every form in domain.yml has the interruption rules the other forms have: each special
  situation (the intents the rules route straight to ``action_situation``) and a knowledge question
  are answered mid-form, after which the form asks its question again. And no form's free-text slot
  takes such a message as its answer: a rule only runs when the form rejects the message, so a slot
  that reads any text must leave those intents out (``not_intent``) or the form must ignore them.
- Role words: ``bot.profiles.ROLE_WORDS`` (how staff name their function) is the one list of them; the
  NLU's role synonyms (data/nlu/steps.yml) may only use its words, each for the same role, and every
  role of ``USER_ROLES`` has words in both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Set

import pytest
from ruamel.yaml import YAML

from actions.common import buttons_for, note_button_title
from bot import __main__ as cli
from bot import knowledge as kb_module
from bot.notes import NOTE_KINDS

REPO = Path(__file__).resolve().parent.parent
SITUATION_ACTION = "action_situation"
QUESTION_INTENT = "faq"


# --- note kinds -> buttons ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(NOTE_KINDS))
def test_every_note_kind_has_its_button(kind):
    domain = {"intents": ["record_note"]}
    assert buttons_for([f"note:{kind}"], domain) == [
        {"title": f"{NOTE_KINDS[kind].label} vastleggen", "payload": f'/record_note{{"note_kind": "{kind}"}}'}
    ]


def test_the_weighing_note_is_offered_too():
    """The kind the old copied list had lost: a move to it showed no button at all."""
    assert note_button_title("weging") == "Weging en besluit vastleggen"


# --- knowledge checks ----------------------------------------------------------------------------


def test_every_capability_with_a_knowledge_section_registers_its_check():
    owners = kb_module.section_owners()
    assert set(owners) == {"knowledge", "steps", "profiles", "weighing", "contacts", "learning"}
    assert set(kb_module.registered_checks()) >= set(owners)
    assert kb_module.missing_checks() == []


@pytest.fixture
def cached_knowledge(monkeypatch):
    """``bot check`` on the knowledge loaded once per test run (loading takes seconds)."""
    monkeypatch.setattr(cli, "load_all", kb_module.knowledge)


def test_bot_check_fails_when_a_capabilitys_check_is_missing(cached_knowledge, monkeypatch, capsys):
    monkeypatch.delitem(kb_module.CHECKS, "weighing")
    assert cli.run_check() == 1
    assert "bot.weighing: no check registered for 'weighing'" in capsys.readouterr().err


def test_bot_check_runs_a_registered_check_whatever_it_is_called(cached_knowledge, monkeypatch, capsys):
    monkeypatch.setitem(kb_module.CHECKS, "learning", lambda kb: ["knowledge/practice_cases.yml:1: broken"])
    assert cli.run_check() == 1
    assert "knowledge/practice_cases.yml:1: broken" in capsys.readouterr().err


def test_bot_check_passes_on_this_checkout(cached_knowledge, capsys):
    assert cli.run_check() == 0, capsys.readouterr().err
    assert "knowledge OK" in capsys.readouterr().out


# --- every form has the interruption rules ---------------------------------------------------


def _yaml(path: Path) -> Dict[str, Any]:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}


def _rules() -> List[Dict[str, Any]]:
    return [
        rule for path in sorted((REPO / "data" / "stories").glob("*.yml")) for rule in _yaml(path).get("rules") or []
    ]


def _forms() -> List[str]:
    return sorted(_yaml(REPO / "domain.yml").get("forms") or {})


def situation_intents() -> Set[str]:
    """The special situations: intents that a rule without condition sends straight to action_situation."""
    return {
        rule["steps"][0]["intent"]
        for rule in _rules()
        if not rule.get("condition")
        and len(rule.get("steps", [])) == 2
        and "intent" in rule["steps"][0]
        and rule["steps"][1] == {"action": SITUATION_ACTION}
    }


def interrupting_intents(form: str) -> Dict[str, List[str]]:
    """intent -> the actions of each rule that answers it inside ``form`` and then resumes the form."""
    found: Dict[str, List[str]] = {}
    for rule in _rules():
        steps = rule.get("steps") or []
        if {"active_loop": form} not in (rule.get("condition") or []) or len(steps) < 3:
            continue
        if "intent" in steps[0] and steps[-2:] == [{"action": form}, {"active_loop": form}]:
            found[steps[0]["intent"]] = [s["action"] for s in steps[1:-2] if "action" in s]
    return found


def test_the_interruption_pattern_is_found():
    """Guard against a test that passes because it reads nothing."""
    assert {"acute_danger", "honour_based", "staff_suspect"} <= situation_intents()
    assert {"case_start_form", "weighing_form", "note_form", "practice_form"} <= set(_forms())
    assert interrupting_intents("weighing_form")["acute_danger"] == [SITUATION_ACTION]


@pytest.mark.parametrize("form", _forms())
def test_every_form_answers_danger_and_questions_then_resumes(form):
    rules = interrupting_intents(form)
    missing = [
        f"{intent} (answered by {SITUATION_ACTION})"
        for intent in sorted(situation_intents())
        if SITUATION_ACTION not in rules.get(intent, [])
    ]
    if QUESTION_INTENT not in rules:
        missing.append(f"{QUESTION_INTENT} (a knowledge question)")
    assert not missing, f"{form} has no rule that answers and then resumes the form for: " + ", ".join(missing)


# A slot that deliberately reads every message, because its validation answers the situation first and
# keeps the observation (actions/notes.py, ValidateNoteForm.validate_note_answer).
READS_SITUATIONS_ITSELF = {"note_answer"}
# The help plan's free-text parts ("de IB'er coördineert, moeder gaat naar opvoedondersteuning") often
# read as a knowledge question to the classifier; they leave out the situations, not ``faq``.
PLAN_TEXT = {"weighing_term", "weighing_casemanager", "weighing_tasks"}


def free_text_slots(form: str) -> Dict[str, Set[str]]:
    """slot -> the intents its from_text mappings inside ``form`` leave out (with the form's ignored ones)."""
    domain = _yaml(REPO / "domain.yml")
    ignored = set((domain["forms"][form] or {}).get("ignored_intents") or [])
    found: Dict[str, Set[str]] = {}
    for slot, spec in (domain.get("slots") or {}).items():
        for mapping in spec.get("mappings") or []:
            in_form = any(c.get("active_loop") == form for c in mapping.get("conditions") or [])
            if mapping.get("type") == "from_text" and in_form:
                found[slot] = ignored | set(mapping.get("not_intent") or [])
    return found


@pytest.mark.parametrize("form", _forms())
def test_no_form_files_a_special_situation_or_a_question_as_its_answer(form):
    def wanted(slot: str) -> Set[str]:
        return situation_intents() | (set() if slot in PLAN_TEXT else {QUESTION_INTENT})

    missing = {
        slot: sorted(wanted(slot) - left_out)
        for slot, left_out in free_text_slots(form).items()
        if slot not in READS_SITUATIONS_ITSELF and wanted(slot) - left_out
    }
    assert not missing, f"{form}: these free-text slots would take the message as their answer: {missing}"


def role_synonyms() -> Dict[str, str]:
    """The NLU's role synonyms: each example (as written) -> the role it stands for."""
    data = YAML(typ="safe").load((REPO / "data" / "nlu" / "steps.yml").read_text(encoding="utf-8"))
    from bot.profiles import USER_ROLES

    found: Dict[str, str] = {}
    for block in data["nlu"]:
        if block.get("synonym") in USER_ROLES:
            for line in block["examples"].splitlines():
                found[line.strip().removeprefix("- ").strip()] = block["synonym"]
    return found


def test_the_nlu_role_synonyms_use_the_role_words_each_for_the_same_role() -> None:
    from bot.conversation import normalise
    from bot.profiles import ROLE_WORDS, USER_ROLES

    synonyms = role_synonyms()
    assert synonyms, "no role synonyms found in data/nlu/steps.yml"
    wrong = {
        word: (role, ROLE_WORDS.get(normalise(word)))
        for word, role in synonyms.items()
        if ROLE_WORDS.get(normalise(word)) != role
    }
    assert not wrong, f"synonym -> (its role in the NLU, in ROLE_WORDS): {wrong}"
    assert set(synonyms.values()) == set(USER_ROLES) == set(ROLE_WORDS.values())


def test_a_role_told_in_words_of_any_length_is_read() -> None:
    from bot.conversation import stated_role

    assert stated_role("Ik ben coördinator huiselijk geweld en kindermishandeling en ik twijfel") == "attention_officer"
    assert stated_role("Ik ben onderwijsondersteunend personeel, wat nu?") == "support_staff"
