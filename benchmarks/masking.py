"""Masking: time per note field (median, p95) and the corpus figures, before and after, in one run.

Why in one run: timings are only comparable on the same machine at the same moment. "Before" is the
masker of a given commit (default 053b0c2, the last one before ``CaseMasker``) with that commit's
resource lists, loaded from git into a temporary folder; it is never kept in the tree.

    .venv/bin/python benchmarks/masking.py [--baseline COMMIT] [--rounds 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Callable, Dict, List, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.privacy import CaseMasker  # noqa: E402
from tests.security.test_masking import PSEUDONYM, load_corpus, measure  # noqa: E402

RESOURCE_FILES = ("first_names.txt", "not_names.txt", "places_nl.txt")


def _git_show(commit: str, path: str) -> str:
    return subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def baseline_module(commit: str, folder: Path) -> ModuleType:
    """bot/privacy.py of ``commit`` with its own resource lists, importable as ``privacy_baseline``."""
    (folder / "resources").mkdir(parents=True, exist_ok=True)
    for name in RESOURCE_FILES:
        (folder / "resources" / name).write_text(_git_show(commit, f"bot/resources/{name}"), encoding="utf-8")
    source = folder / "privacy_baseline.py"
    source.write_text(_git_show(commit, "bot/privacy.py"), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("privacy_baseline", source)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["privacy_baseline"] = module
    spec.loader.exec_module(module)
    return module


def timings(texts: Sequence[str], mask: Callable[[str], str], rounds: int) -> Dict[str, float]:
    """Milliseconds per field: median and p95 over every text of every round (after one warm-up)."""
    for text in texts[:5]:
        mask(text)
    samples: List[float] = []
    for _ in range(rounds):
        for text in texts:
            start = time.perf_counter()
            mask(text)
            samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"median": statistics.median(samples), "p95": samples[int(0.95 * (len(samples) - 1))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="053b0c2")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = load_corpus()
    texts = [str(r["text"]) for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        old = baseline_module(args.baseline, Path(tmp))

        def before(text: str) -> str:
            return old.mask_names(text, PSEUDONYM).text

        def after(text: str) -> str:
            return CaseMasker(PSEUDONYM).mask(text)[0].text

        for label, mask in (("before", before), ("after", after)):
            figures = measure(rows, mask)
            speed = timings(texts, mask, args.rounds)
            print(f"{label:6} {figures.line()}")
            print(
                f"{'':6} per field: median {speed['median']:.2f} ms, p95 {speed['p95']:.2f} ms "
                f"({len(texts)} fields x {args.rounds} rounds)"
            )


if __name__ == "__main__":
    main()
