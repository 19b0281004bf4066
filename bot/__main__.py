"""Command line: ``python -m bot <command>``.

check            validate every knowledge file and the cross-references (exit 1 with file:line on errors)
sync-faq         regenerate data/nlu/faq.yml (the training examples of the intent ``faq``) from
                 knowledge/faq/*.yml
build-index      fill the retrieval index's disk caches (passage vectors, topic classifier) for the
                 knowledge as it is, so no server or test process encodes the knowledge itself
purge            delete closed cases and conversation history older than --older-than (e.g. 180d);
                 deletions are logged without content
cases            close-inactive: close cases without activity for --after (default MELDWIJZER_AUTO_CLOSE_AFTER
                 or 180d), with the reason in the dossier; the owner is told at the next conversation
keys             generate a new encryption key; rotate: re-encrypt all stored data under the first key;
                 generate-id / rotate-ids: the same for the key that hashes user ids
roles            grant, revoke, list or audit the roles the school assigns (aandachtsfunctionaris)
export CASE      write the dossier of CASE as PDF and Markdown (--out DIR, --viewer USER --role ROLE)
learning-report  anonymised practice results of the organisation
nlu-report       5-fold cross-validation of the NLU, prints intent F1 (a report, not a test)
nlu-eval         intent F1 (5-fold CV), held-out accuracy of the intents alone and with retrieval, and the
                 retrieval calibration, as tables (a report, not a test; --no-cv skips the CV)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

from bot.knowledge import (
    REPO_ROOT,
    SECTIONS,
    KnowledgeBase,
    KnowledgeError,
    load_all,
    missing_checks,
    registered_checks,
)

FAQ_NLU = REPO_ROOT / "data" / "nlu" / "faq.yml"


def _dump(header: str, data: dict) -> str:
    from ruamel.yaml import YAML
    import io

    out = io.StringIO()
    yaml = YAML()
    yaml.width = 4096  # type: ignore[assignment]  # ruamel types the attribute as None
    yaml.dump(data, out)
    return header + out.getvalue()


# Variants per FAQ entry that become NLU training examples (the first ones, as written). DIET needs
# them only to tell a knowledge question from the other intents; retrieval, which picks the entry, reads
# every variant. More would add to every training run's DIET epochs without telling it anything new:
# with 6 instead of 12 the dev set of real questions had more right and fewer wrong answers, and the
# training was shorter (docs/PERFORMANCE.md).
NLU_VARIANTS_PER_ENTRY = 6


def faq_nlu_text(kb: KnowledgeBase) -> str:
    """The generated training examples of the intent ``faq``: of every entry the canonical question and
    its first ``NLU_VARIANTS_PER_ENTRY`` variants that ask something (``bot.conversation.is_question``).
    One intent, not a retrieval intent per entry: which entry is asked is retrieval's choice
    (bot.retrieval.choose_faq), so no ResponseSelector is trained.

    Why only questions: a variant such as "leerling vertelt dat ze met de riem krijgt" is a good document
    for retrieval, but as an example of ``faq`` it taught DIET that a teacher describing what she saw asks
    a knowledge question, and "moeder ruikt elke ochtend naar drank" got an FAQ answer instead of a case
    with the guidance of step 1."""
    from bot import steps
    from bot.conversation import is_question
    from ruamel.yaml.scalarstring import LiteralScalarString

    examples: List[str] = []
    for entry in steps.faq_entries(kb):
        asking = [v for v in entry.variants if is_question(v)]
        examples += [entry.question, *asking[:NLU_VARIANTS_PER_ENTRY]]
    unique = dict.fromkeys(examples)
    items = [{"intent": "faq", "examples": LiteralScalarString("".join(f"- {e}\n" for e in unique))}]
    return _dump(f"{GENERATED}\n", {"version": "3.1", "nlu": items})


GENERATED = "# Generated from knowledge/faq/*.yml by `python -m bot sync-faq`. Do not edit."


def generated_files() -> Tuple[Tuple[Path, Callable[[KnowledgeBase], str]], ...]:
    """Rasa data derived from knowledge/: written by ``sync-faq``, compared by ``check``."""
    return ((FAQ_NLU, faq_nlu_text),)


def run_check() -> int:
    try:
        kb = load_all()
    except KnowledgeError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    # Every capability that owns a section registers its cross-file check (@check in bot.knowledge).
    problems = missing_checks()
    for check in registered_checks().values():
        problems.extend(check(kb))
    for path, render in generated_files():
        if not path.exists() or path.read_text(encoding="utf-8") != render(kb):
            problems.append(f"{path.name}: out of date; run `python -m bot sync-faq`")
    from bot.profiles import checked_lines

    print("\n".join(checked_lines(kb)))  # when each sociale kaart was last checked, pass or fail
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


def run_build_index() -> int:
    """Build the retrieval index once, writing its caches under var/. Why: every action server and test
    process that starts on a fresh clone would otherwise encode the ~3,400 passages of the knowledge at
    the same moment (each a minute of both cores), and the servers of the end-to-end tests then did not
    start within their time. With the caches a build takes seconds."""
    import time

    from bot import retrieval

    start = time.perf_counter()
    retrieval.index()
    print(f"retrieval index ready ({len(retrieval.topics())} topics, {time.perf_counter() - start:.0f} s)")
    return 0


def parse_age(text: str) -> timedelta:
    """argparse type for '180d', '26w', '2y' (the store's own parser, with argparse's error)."""
    from bot.store.cli import parse_older_than

    try:
        return parse_older_than(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def run_roles(args: argparse.Namespace) -> int:
    from bot.profiles import profile
    from bot.store.cli import roles_command

    try:
        print(roles_command(args.action, args.user, args.role, args.organisation or profile().id, args.actor))
    except ValueError as error:
        print(f"roles: {error}", file=sys.stderr)
        return 2
    return 0


def run_export(case_id: str, out_dir: Path, viewer_id: str, viewer_role: Optional[str]) -> int:
    """Write the case's dossier as PDF and Markdown, read as ``viewer_id`` (the store checks access)."""
    from bot.dossier import export_case_files
    from bot.store.db import repositories
    from bot.store.identities import stored_identity
    from bot.store.repositories import AccessDenied, NotFound

    try:
        paths = export_case_files(repositories(), case_id, out_dir, stored_identity(viewer_id), viewer_role)
    except (AccessDenied, NotFound) as error:
        print(f"cannot export case {case_id}: {error}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"wrote {path}")
    return 0


def report_for_organisation(organisation_id: Optional[str] = None, kb: Optional[KnowledgeBase] = None) -> str:
    """``python -m bot learning-report``: the practice report of the given organisation, or of this
    deployment's, from the store's aggregate (bot.learning itself stays free of the database)."""
    from bot.learning import learning_report
    from bot.profiles import profile
    from bot.store.db import repositories

    organisation = organisation_id or profile(kb=kb).id
    return learning_report(organisation, repositories().practice.aggregate(organisation), kb)


def cross_validation_command(folds: int, out: Path) -> List[str]:
    """``rasa test nlu`` cross-validating config.yml on data/ in ``folds`` folds, its reports in ``out``
    (``make nlu-report`` and ``make nlu-eval`` both read its intent_report.json)."""
    rasa = str(REPO_ROOT / ".venv" / "bin" / "rasa")
    return [rasa, "test", "nlu", "--nlu", "data", "--config", "config.yml", "--cross-validation",
            "--runs", "1", "--folds", str(folds), "--out", str(out)]  # fmt: skip


def run_nlu_report(folds: int) -> int:
    out = REPO_ROOT / "results" / "nlu-cv"
    cmd = cross_validation_command(folds, out)
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


def _cv_intent_f1(folds: int) -> Tuple[float, float, float]:
    """5-fold cross-validated intent F1 of config.yml: (weighted F1, macro F1, seconds)."""
    import json
    import time

    out = REPO_ROOT / "results" / "nlu-eval-cv"
    cmd = cross_validation_command(folds, out)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL)
    report = json.loads((out / "intent_report.json").read_text())
    return (report["weighted avg"]["f1-score"], report["macro avg"]["f1-score"], time.perf_counter() - start)


def _heldout_parses(model: Path, texts: Sequence[str]) -> List[dict]:
    """The NLU parse of every held-out text by the trained model (no server, no dialogue)."""
    import asyncio
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # no debug line per parsed message in the report
    for name in ("rasa", "bm25s"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from plugins import server

    server.install()  # load the model as the Rasa server does
    agent = Agent.load(str(model))
    return asyncio.run(_parse_all(agent, texts))


async def _parse_all(agent: object, texts: Sequence[str]) -> List[dict]:
    return [await agent.parse_message(text) for text in texts]  # type: ignore[attr-defined]


def _calibration_table() -> List[str]:
    """K-fold over the FAQ variants plus out-of-scope probes: top-1/top-3 per fusion method and the
    thresholds at 80% and 90% precision (the figures behind bot.retrieval.ANSWER_THRESHOLD)."""
    from bot import retrieval

    items = retrieval.topics()
    lines = [
        f"retrieval calibration: 5-fold over FAQ variants + {len(retrieval.OUT_OF_SCOPE)} out-of-scope "
        f"probes (knowledge {retrieval.fingerprint(items)}); answered = share of in-scope probes "
        "answered right at that threshold",
        f"{'fusion':8} {'dense':7} {'top-1':>6} {'top-3':>6}   {'t@80%':>6} {'answered':>8}   "
        f"{'t@90%':>6} {'answered':>8}",
    ]
    folds = retrieval.variant_folds(items, 5)
    probes_oos = [retrieval.Probe(t, None) for t in retrieval.OUT_OF_SCOPE]
    for method, dense in (
        ("convex", "logreg"),
        ("rrf", "logreg"),
        ("dense", "logreg"),
        ("bm25", "-"),
        ("convex", "knn"),
        ("dense", "knn"),
    ):
        outcomes = []
        for kept, probes in folds:
            idx = retrieval.Index(kept, method=method, dense=dense if dense != "-" else "knn")
            outcomes += retrieval.run_probes(idx, [*probes, *probes_oos])
        in_scope = [o for o in outcomes if o.expected is not None]
        top1 = sum(o.top == o.expected for o in in_scope) / len(in_scope)
        top3 = sum(o.in_top3 for o in in_scope) / len(in_scope)
        t80, _, covered80 = retrieval.threshold_at_precision(outcomes, 0.8)
        t90, _, covered90 = retrieval.threshold_at_precision(outcomes, 0.9)
        lines.append(
            f"{method:8} {dense:7} {top1:6.3f} {top3:6.3f}   {t80:6.3f} {covered80:8.3f}   {t90:6.3f} {covered90:8.3f}"
        )
        if (method, dense) == ("convex", "logreg"):
            scores = sorted(o.score for o in outcomes if o.expected is None)
            lines.append(
                f"{'':17}out-of-scope probes: max score {scores[-1]:.3f}, median {scores[len(scores) // 2]:.3f}"
            )
    return lines


def run_nlu_eval(folds: int, with_cv: bool, model: Path) -> int:
    """The NLU quality report of issue 12 §4: CV intent F1, then the held-out set answered by the
    intents alone and with retrieval, then the retrieval calibration."""
    import time

    from bot import retrieval

    if with_cv:
        weighted, macro, seconds = _cv_intent_f1(folds)
        print(f"intent F1, {folds}-fold CV of config.yml: weighted {weighted:.3f}, macro {macro:.3f} ({seconds:.0f} s)")
    if not retrieval.HELDOUT_PATH.exists() or not model.exists():
        print(f"held-out set or model missing ({retrieval.HELDOUT_PATH.name}, {model.name}): no held-out figures")
    else:
        rows = retrieval.load_heldout()
        start = time.perf_counter()
        parses = _heldout_parses(model, [r.text for r in rows])
        parsed_in = time.perf_counter() - start
        ways = {
            "intents alone": [retrieval.answered_by_intents(p) for p in parses],
            "intents + retrieval": [retrieval.answered_with_retrieval(p) for p in parses],
        }
        known = retrieval.known_labels(retrieval.topics())
        findable = [i for i, r in enumerate(rows) if retrieval.retrievable(r, known)]
        print(f"held-out: {len(rows)} rows, parsed in {parsed_in:.0f} s; {len(findable)} have a retrievable topic")
        print(f"{'answered by':22} {'right':>6} {'fallback':>8} {'offered':>8}   {'right (retrievable rows)':>24}")
        for name, answers in ways.items():
            total = retrieval.score(rows, answers)
            sub = retrieval.score([rows[i] for i in findable], [answers[i] for i in findable])
            print(
                f"{name:22} {total.accuracy:6.3f} {total.fallback_rate:8.3f} "
                f"{total.offered_right / max(total.rows, 1):8.3f}   {sub.accuracy:24.3f}"
            )
        alone = retrieval.score(
            [rows[i] for i in findable], [retrieval.answered_by_retrieval_alone(rows[i].text) for i in findable]
        )
        top1 = sum(1 for i in findable if rows[i].right(retrieval.hit_label(retrieval.search(rows[i].text)[0])))
        print(
            f"{'retrieval alone':22} {'':6} {'':8} {'':8}   {alone.accuracy:24.3f}"
            f"  (top-1 whatever the score: {top1 / max(len(findable), 1):.3f})"
        )
        faq_ids = {t.id.partition(":")[2] for t in retrieval.topics() if t.id.startswith("faq:")}
        faq_rows = [(r, p) for r, p in zip(rows, parses) if r.expected in faq_ids]
        first = [retrieval.choose_faq(r.text).key for r, _ in faq_rows]
        share = sum(1 for (r, _), k in zip(faq_rows, first) if r.right(k or "")) / max(len(faq_rows), 1)
        print(f"FAQ rows ({len(faq_rows)}): entry ranked first by retrieval {share:.3f}")
        answers = ways["intents + retrieval"]
        acute = [(r, a) for r, a in zip(rows, answers) if r.kind == "acute"]
        reached = sum(1 for r, a in acute if a.label == "acute_danger" or r.right(a.label))
        print(f"acute rows on the acute route (acute_danger or their own urgent route): {reached}/{len(acute)}")
    print("\n".join(_calibration_table()))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check")
    sub.add_parser("sync-faq")
    purge = sub.add_parser("purge")
    purge.add_argument("--older-than", type=parse_age, required=True, help="closed cases, e.g. 180d")
    purge.add_argument(
        "--conversations-older-than",
        type=parse_age,
        default=None,
        help="conversation history (default: the same period)",
    )
    case_admin = sub.add_parser("cases", help="case maintenance: close-inactive")
    case_admin.add_argument("action", choices=("close-inactive",))
    case_admin.add_argument("--after", type=parse_age, default=None, help="inactivity period, e.g. 180d")
    export = sub.add_parser("export")
    export.add_argument("case_id")
    export.add_argument("--out", type=Path, default=Path("."))
    export.add_argument("--viewer", required=True, help="clear identity of the person exporting, e.g. web:<sub>")
    export.add_argument("--role", default=None, help="their role (attention_officer may export others' cases)")
    keys = sub.add_parser(
        "keys", help="encryption keys: generate a new one, rotate stored data to it; the same for the id key"
    )
    keys.add_argument("action", choices=("generate", "rotate", "generate-id", "rotate-ids"))
    roles = sub.add_parser("roles", help="roles the school assigns (audited)")
    roles.add_argument("action", choices=("grant", "revoke", "list", "audit"))
    roles.add_argument("user", nargs="?", help="the user's clear identity, e.g. teams:<tenant>:<object id> (hashed)")
    roles.add_argument("role", nargs="?", help="attention_officer")
    roles.add_argument("--organisation", default=None, help="organisation id (default: this deployment's profile)")
    roles.add_argument("--by", dest="actor", default=None, help="who makes the change (kept in the audit)")
    report = sub.add_parser("learning-report")
    report.add_argument("--organisation", default=None)
    sub.add_parser("build-index")
    nlu = sub.add_parser("nlu-report")
    nlu.add_argument("--folds", type=int, default=5)
    nlu_eval = sub.add_parser("nlu-eval")
    nlu_eval.add_argument("--folds", type=int, default=5)
    nlu_eval.add_argument("--no-cv", dest="with_cv", action="store_false", help="skip the cross-validation")
    nlu_eval.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "meldwijzer.tar.gz")
    args = parser.parse_args(argv)

    if args.command == "check":
        return run_check()
    if args.command == "sync-faq":
        return run_sync_faq()
    if args.command == "build-index":
        return run_build_index()
    if args.command == "purge":
        from bot.store.cli import purge as purge_stores

        result = purge_stores(args.older_than, args.conversations_older_than)
        print(f"deleted {result.cases} closed case(s) and {result.conversation_events} conversation event(s)")
        return 0
    if args.command == "cases":
        from bot import cases
        from bot.store.db import repositories

        closed = cases.close_inactive(repositories(), args.after)
        print(f"closed {len(closed)} case(s) without activity")
        return 0
    if args.command == "export":
        return run_export(args.case_id, args.out, args.viewer, args.role)
    if args.command == "roles":
        return run_roles(args)
    if args.command == "keys":
        from bot.store import keys as key_admin

        if args.action == "generate":
            print(key_admin.generate())
        elif args.action == "generate-id":
            print(key_admin.generate_id())
        elif args.action == "rotate-ids":
            counts = key_admin.rotate_ids()
            print("\n".join(f"re-hashed the ids of {n} person(s) in the {where}" for where, n in counts.items()))
        else:
            counts = key_admin.rotate()
            print("\n".join(f"re-encrypted {n} value(s) in {where}" for where, n in counts.items()))
        return 0
    if args.command == "learning-report":
        print(report_for_organisation(args.organisation))
        return 0
    if args.command == "nlu-eval":
        return run_nlu_eval(args.folds, args.with_cv, args.model)
    return run_nlu_report(args.folds)


if __name__ == "__main__":
    sys.exit(main())
