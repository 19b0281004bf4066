"""Benchmark: what retrieval and the dense featurizer add per message (issue 12, Speed: at most 15 ms).

Figures against a baseline measured in the same run: spaCy's nl_core_news_sm parse of the same message,
which the NLU pipeline already pays for every message. Rows:
1. the featurizer's cost: one USE sentence vector (what plugins.nlu.sentence_features adds to each parse);
2. the retrieval layer uncached (BM25 terms + scores, the dense half, the fusion), per message;
3. building the index: with the passage vectors in the disk cache (a restart) and without (first start).

Run with ``.venv/bin/python benchmarks/retrieval.py`` (no trained model needed). A benchmark, never a test.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from run import row, timed  # noqa: E402 - the shared timing helpers of benchmarks/run.py

MESSAGES = (
    "Moet ik altijd melden?",
    "Krijgen ouders te horen dat de school heeft gemeld?",
    "Ik heb geheimhoudingsplicht toch?",
    "Mijn leerling heeft striemen op zijn rug en wil niet zeggen waar ze vandaan komen",
    "Een leerling uit groep 6 vertelde vanochtend in de kring dat papa en mama vaak ruzie maken en dat "
    "papa dan dingen kapot gooit. Ze was er erg stil bij. Wat moet ik hiermee, eerst met de IB'er praten?",
)


def main() -> None:
    import spacy

    from bot import retrieval

    nlp = spacy.load("nl_core_news_sm")
    encoder = retrieval.sentence_encoder()

    def per_message(fn: Callable[[str], object]) -> List[float]:
        out: List[float] = []
        for text in MESSAGES:
            fn(text)  # warm
            out.extend(timed(lambda text=text: fn(text), 20))
        return out

    def encode_fresh(text: str) -> object:
        encoder.forget()  # as in the NLU component: no memo between messages
        return encoder.encode([text])

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        cold = retrieval.Index(retrieval.topics(), retrieval.SentenceEncoder(Path(tmp) / "cache.npz"))
    cold_s = time.perf_counter() - start
    start = time.perf_counter()
    idx = retrieval.Index(retrieval.topics())
    warm_s = time.perf_counter() - start
    passages = sum(len(t.passages) for t in cold.topics)

    def search_fresh(text: str) -> object:
        encoder.forget()
        return idx.search(text, 3)

    baseline = per_message(lambda text: nlp(text))
    base = statistics.median(baseline)
    print(f"retrieval benchmark ({len(MESSAGES)} messages x 20, {len(idx.topics)} topics, {passages} passages)")
    print(row("baseline: spaCy nl_core_news_sm parse", baseline, base))
    encode = per_message(encode_fresh)
    print(row("featurizer: one USE sentence vector", encode, base))
    lexical = per_message(lambda text: idx.analyzer.terms(text, query=True))
    print(row("retrieval: BM25 query terms", lexical, base))
    search = per_message(search_fresh)
    print(row("retrieval: search (both halves, fused)", search, base))
    both = statistics.median(encode) + statistics.median(search)
    print(f"added per message (featurizer in Rasa + retrieval in the action server): {both:.1f} ms (target <= 15)")
    print(f"index build: {cold_s:.1f} s without the vector cache, {warm_s:.1f} s with it")


if __name__ == "__main__":
    main()
