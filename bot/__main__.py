"""Command line: ``python -m bot <command>``.

check            validate every knowledge file and the cross-references (exit 1 with file:line on errors)
sync-faq         regenerate data/nlu/faq_responses.yml and data/nlu/faq.yml (responses and training
                 examples of the retrieval intent) from knowledge/faq/*.yml
purge            delete closed cases and conversation history older than --older-than (e.g. 180d);
                 deletions are logged without content
export CASE      write the dossier of CASE as PDF and Markdown (--out DIR, --viewer USER --role ROLE)
learning-report  anonymised practice results of the organisation
nlu-report       5-fold cross-validation of the NLU, prints intent F1 (a report, not a test)
"""
from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

from bot.knowledge import REPO_ROOT, SECTIONS, KnowledgeBase, KnowledgeError, check_sources, load_all

FAQ_RESPONSES = REPO_ROOT / "data" / "nlu" / "faq_responses.yml"
FAQ_NLU = REPO_ROOT / "data" / "nlu" / "faq.yml"
# Cross-checks per capability: "module:function(kb) -> List[str]".
CHECKS = (
    "bot.profiles:check_profiles",
    "bot.steps:check_steps",
    "bot.weighing:check_weighing",
    "bot.contacts:check_contacts",
    "bot.learning:check_learning",
)


def _resolve(target: str) -> Optional[Callable[[KnowledgeBase], List[str]]]:
    module_name, func_name = target.split(":")
    return getattr(importlib.import_module(module_name), func_name, None)


def _dump(header: str, data: dict) -> str:
    from ruamel.yaml import YAML
    import io

    out = io.StringIO()
    yaml = YAML()
    yaml.width = 4096
    yaml.dump(data, out)
    return header + out.getvalue()


def faq_responses_text(kb: KnowledgeBase) -> str:
    """The generated Rasa responses for the retrieval intent, one per FAQ entry (national wording)."""
    from bot import profiles, steps
    from ruamel.yaml.scalarstring import LiteralScalarString

    national = profiles.profile(profiles.NATIONAL_PROFILE, kb)
    responses = {}
    for faq_id in steps.faq_ids(kb):
        answer, sources = steps.faq_answer(faq_id, national, kb)
        responses[f"utter_faq/{faq_id}"] = [{"text": LiteralScalarString(f"{answer}\nBron: {'; '.join(sources)}.")}]
    return _dump(f"{GENERATED}\n", {"version": "3.1", "responses": responses})


def faq_nlu_text(kb: KnowledgeBase) -> str:
    """The generated training examples of ``faq/<id>``: the canonical question and its variants."""
    from bot import steps
    from ruamel.yaml.scalarstring import LiteralScalarString

    items = []
    for entry in steps.faq_entries(kb):
        examples = list(dict.fromkeys([entry.question, *entry.variants]))
        items.append({"intent": f"faq/{entry.id}",
                      "examples": LiteralScalarString("".join(f"- {e}\n" for e in examples))})
    return _dump(f"{GENERATED}\n", {"version": "3.1", "nlu": items})


GENERATED = "# Generated from knowledge/faq/*.yml by `python -m bot sync-faq`. Do not edit."


def generated_files() -> Tuple[Tuple[Path, Callable[[KnowledgeBase], str]], ...]:
    """Rasa data derived from knowledge/: written by ``sync-faq``, compared by ``check``."""
    return ((FAQ_RESPONSES, faq_responses_text), (FAQ_NLU, faq_nlu_text))


def run_check() -> int:
    try:
        kb = load_all()
    except KnowledgeError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    problems = check_sources(kb)
    for target in CHECKS:
        check = _resolve(target)
        if check is not None:
            problems.extend(check(kb))
    for path, render in generated_files():
        if not path.exists() or path.read_text(encoding="utf-8") != render(kb):
            problems.append(f"{path.name}: out of date; run `python -m bot sync-faq`")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    counts = ", ".join(f"{name}: {len(files)}" for name, files in kb.files.items())
    print(f"knowledge OK ({counts})")
    return 0


def run_sync_faq() -> int:
    kb = load_all(sections={key: SECTIONS[key] for key in ("sources.yml", "faq/", "organisations/")})
    for path, render in generated_files():
        path.write_text(render(kb), encoding="utf-8")
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


def parse_age(text: str) -> timedelta:
    """argparse type for '180d', '26w', '2y' (the store's own parser, with argparse's error)."""
    from bot.store.cli import parse_older_than

    try:
        return parse_older_than(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def run_export(case_id: str, out_dir: Path, viewer_id: str, viewer_role: Optional[str]) -> int:
    """Write the case's dossier as PDF and Markdown, read as ``viewer_id`` (the store checks access)."""
    from bot.dossier import export_case_files
    from bot.store.db import repositories
    from bot.store.repositories import AccessDenied, NotFound

    try:
        paths = export_case_files(repositories(), case_id, out_dir, viewer_id, viewer_role)
    except (AccessDenied, NotFound) as error:
        print(f"cannot export case {case_id}: {error}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"wrote {path}")
    return 0


def run_nlu_report(folds: int) -> int:
    out = REPO_ROOT / "results" / "nlu-cv"
    cmd = [str(REPO_ROOT / ".venv" / "bin" / "rasa"), "test", "nlu", "--nlu", "data", "--config", "config.yml",
           "--cross-validation", "--runs", "1", "--folds", str(folds), "--out", str(out)]
    result = subprocess.run(cmd, cwd=REPO_ROOT)
    if result.returncode != 0:
        return result.returncode
    import json

    report = json.loads((out / "intent_report.json").read_text())
    print(f"{'intent':32} {'f1':>6} {'support':>8}")
    for name, row in sorted(report.items(), key=lambda kv: kv[0]):
        if isinstance(row, dict) and "f1-score" in row:
            print(f"{name:32} {row['f1-score']:6.3f} {row.get('support', 0):8}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check")
    sub.add_parser("sync-faq")
    purge = sub.add_parser("purge")
    purge.add_argument("--older-than", type=parse_age, required=True, help="closed cases, e.g. 180d")
    purge.add_argument("--conversations-older-than", type=parse_age, default=None,
                       help="conversation history (default: the same period)")
    export = sub.add_parser("export")
    export.add_argument("case_id")
    export.add_argument("--out", type=Path, default=Path("."))
    export.add_argument("--viewer", required=True, help="user id of the person exporting")
    export.add_argument("--role", default=None, help="their role (attention_officer may export others' cases)")
    report = sub.add_parser("learning-report")
    report.add_argument("--organisation", default=None)
    nlu = sub.add_parser("nlu-report")
    nlu.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)

    if args.command == "check":
        return run_check()
    if args.command == "sync-faq":
        return run_sync_faq()
    if args.command == "purge":
        from bot.store.cli import purge as purge_stores

        result = purge_stores(args.older_than, args.conversations_older_than)
        print(f"deleted {result.cases} closed case(s) and {result.conversation_events} conversation event(s)")
        return 0
    if args.command == "export":
        return run_export(args.case_id, args.out, args.viewer, args.role)
    if args.command == "learning-report":
        from bot.learning import report_for_organisation

        print(report_for_organisation(args.organisation))
        return 0
    return run_nlu_report(args.folds)


if __name__ == "__main__":
    sys.exit(main())
