"""Benchmarks: figures printed against a baseline measured in the same run (never asserted in tests).

1. NLU parse latency and memory by message length, against a short teacher message as baseline.
   This is the evidence for the channels' 2,000-character cap (DIET's attention grows quadratically).
2. Safety-net overhead: the AcuteDangerGuard alone, against the full NLU parse of the same message.
3. Case store: a progress update on SQLite, against a bare read of the same case.
4. Dossier export of a case with 30 notes: the PDF (what a web download renders per click) and the
   whole download path (store read as the viewer + PDF), against the Markdown text of the same case.

Run with ``make bench``.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable, List

if TYPE_CHECKING:
    from bot.store.repositories import Repositories

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BASELINE_TEXT = "ik maak me zorgen over een leerling"
LONG_UNIT = "De leerling kwam vanochtend te laat en had een blauwe plek op de arm. "


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], object], repeat: int) -> List[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def timed_async(fn: Callable[[], Awaitable[object]], repeat: int) -> List[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def row(name: str, samples: List[float], baseline: float) -> str:
    median = statistics.median(samples)
    p95 = sorted(samples)[max(int(len(samples) * 0.95) - 1, 0)]
    return f"{name:40} median {median:8.2f} ms   p95 {p95:8.2f} ms   x{median / baseline:6.2f} baseline"


async def bench_nlu() -> None:
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa's debug default would print every parsed text

    from plugins import server

    server.install()  # load the model as the Rasa server does
    agent = Agent.load(str(REPO / "models" / "meldwijzer.tar.gz"))
    await agent.parse_message(BASELINE_TEXT)  # warm-up
    base = await timed_async(lambda: agent.parse_message(BASELINE_TEXT), 30)
    baseline = statistics.median(base)
    print("NLU parse latency by message length (baseline: a 35-character message)")
    print(row(f"{len(BASELINE_TEXT)} chars (baseline)", base, baseline))
    for length in (400, 1000, 2000, 4000):
        text = (LONG_UNIT * (length // len(LONG_UNIT) + 1))[:length]
        before = rss_mb()
        samples = await timed_async(lambda text=text: agent.parse_message(text), 10)
        print(row(f"{length} chars", samples, baseline) + f"   peak RSS +{rss_mb() - before:6.1f} MB")

    from plugins.nlu.safety import compile_terms, find_danger
    from bot.steps import danger_terms

    pattern = compile_terms(danger_terms())
    guard = timed(lambda: find_danger(BASELINE_TEXT, pattern), 2000)
    print("\nSafety net alone vs the full NLU parse of the same message")
    print(row("AcuteDangerGuard term scan", guard, baseline))


def bench_store() -> None:
    import os

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MELDWIJZER_DB_URL"] = f"sqlite:///{tmp}/bench.db"
        from bot.store.db import repositories

        repos = repositories()
        case = repos.cases.create("bench-user", "national", "Leerling BNCH")
        reads = timed(lambda: repos.cases.open_case("bench-user"), 200)
        writes = timed(lambda: repos.cases.update_progress(case.id, 2, ["signals_recorded"]), 200)
        print("\nCase store on SQLite (baseline: reading the open case)")
        print(row("read open case (baseline)", reads, statistics.median(reads)))
        print(row("update progress (write + commit)", writes, statistics.median(reads)))
        bench_dossier(repos, case.id)


def bench_dossier(repos: Repositories, case_id: str) -> None:
    from datetime import datetime, timedelta, timezone

    from bot import dossier

    start = datetime(2026, 9, 1, 8, 30, tzinfo=timezone.utc)
    for n in range(30):
        repos.notes.add(
            case_id,
            "signaal",
            "bench-user",
            "teacher",
            {
                "moment": (start + timedelta(days=n)).isoformat(),
                "plaats": "klas",
                "situatie": "bij binnenkomst",
                "aanwezigen": "een collega",
                "waarnemingen": LONG_UNIT * 3,
                "hypothese": "",
                "bron": "",
            },
            None,
        )
    grant = dossier.Grant(case_id, "bench-user", "teacher")
    case, overview = dossier.load(repos, case_id, grant.viewer_id, grant.viewer_role)
    now = datetime.now(timezone.utc)
    markdown = timed(lambda: dossier.to_file(overview, case.pseudonym, dossier.MARKDOWN, now), 20)
    pdf = timed(lambda: dossier.to_file(overview, case.pseudonym, dossier.PDF, now), 20)
    download = timed(lambda: dossier.export_file(repos, grant, dossier.PDF), 20)
    base = statistics.median(markdown)
    print("\nDossier export, 30 notes (baseline: rendering the Markdown text)")
    print(row("Markdown text (baseline)", markdown, base))
    print(row("PDF", pdf, base))
    print(row("web download (store read + PDF)", download, base))


def main() -> None:
    print(f"peak RSS at start: {rss_mb():.0f} MB")
    asyncio.run(bench_nlu())
    bench_store()
    print(f"\npeak RSS at end: {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
