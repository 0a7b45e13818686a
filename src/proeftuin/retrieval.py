"""Find the best passages for a question in a document collection, and cite where they come from.

Lexical retrieval: TF-IDF over stemmed words and word pairs (accents folded, light Dutch suffix
stripping), fused with a TF-IDF cosine over character n-grams, which catches compounds and spelling
variants ("spoorweg" in "spoorwegpersoneel"). An embedding model can re-rank the top passages when one is installed
(optional; `rerank_model`). The index is sparse matrices (.npz, loaded without pickle) and JSON.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from proeftuin.errors import DataError, ProeftuinError

AI_NOTICE = ("Dit antwoord komt van een AI-systeem: het toont de passages die het best bij je vraag passen, "
             "met hun bron. Controleer de bron voor je iets beslist of doorgeeft.")
_SUFFIXES = ("heden", "heid", "ingen", "ing", "lijk", "tjes", "jes", "en", "es", "s", "e")
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    return unicodedata.normalize("NFKD", str(text).lower()).encode("ascii", "ignore").decode()


def stem(word: str) -> str:
    """Light suffix stripping for Dutch: enough to match 'aanvragen' with 'aanvraag'-like forms."""
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]  # "bedrijffen" -> "bedrijf"
    return word.replace("aa", "a").replace("ee", "e").replace("oo", "o").replace("uu", "u")


def words(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(fold(text))]


def word_grams(text: str) -> list[str]:
    """Stemmed words and word pairs: pairs keep names and terms together ("federale politie")."""
    tokens = words(text)
    return tokens + [f"{x}_{y}" for x, y in zip(tokens, tokens[1:], strict=False)]


@dataclass
class RetrievalConfig:
    char_weight: float = 0.5  # share of the character n-gram score in the fused score
    max_chars: int = 0  # of each document for the index; 0 = all
    rerank_model: str = ""  # e.g. a sentence-transformers model name; empty = no re-ranking
    rerank_top: int = 20
    plain_words: bool = False  # plain scikit-learn word TF-IDF (the baseline)


@dataclass
class Passage:
    id: str
    score: float
    text: str
    source: str

    def snippet(self, width: int = 300) -> str:
        flat = " ".join(self.text.split())
        return flat if len(flat) <= width else flat[: width - 1] + "…"


def _vectorizer(kind: str, vocabulary: dict[str, int] | None = None, plain: bool = False):
    from sklearn.feature_extraction.text import TfidfVectorizer

    if kind == "words" and plain:
        return TfidfVectorizer(vocabulary=vocabulary, dtype=np.float32)
    if kind == "words":
        return TfidfVectorizer(analyzer=word_grams, sublinear_tf=True, vocabulary=vocabulary, dtype=np.float32)
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, preprocessor=fold,
                           vocabulary=vocabulary, dtype=np.float32)


KINDS = ("words", "chars")


@dataclass
class Retriever:
    """Two TF-IDF views of the collection (word grams, character n-grams), fused by cosine score."""

    config: RetrievalConfig
    ids: list[str]
    texts: list[str]
    sources: list[str]
    vectorizers: dict[str, Any] = field(default_factory=dict)
    matrices: dict[str, sp.csr_matrix] = field(default_factory=dict)
    _reranker: Any = field(default=None, repr=False)

    @classmethod
    def build(cls, ids: list[str], texts: list[str], sources: list[str] | None = None,
              config: RetrievalConfig | None = None) -> Retriever:
        check_collection(ids, texts)
        config = config or RetrievalConfig()
        retriever = cls(config, [str(i).strip() for i in ids], [str(t) for t in texts],
                        [str(s) for s in (sources or [""] * len(ids))])
        limit = config.max_chars or None
        clipped = [t[:limit] for t in retriever.texts]
        for kind in KINDS:
            vectorizer = _vectorizer(kind, plain=config.plain_words)
            retriever.matrices[kind] = vectorizer.fit_transform(clipped).tocsr()
            retriever.vectorizers[kind] = vectorizer
        return retriever

    def scores(self, questions: list[str]) -> np.ndarray:
        """Fused score of every document for every question (questions x documents)."""
        w = self.config.char_weight
        out = np.zeros((len(questions), len(self.ids)), dtype=np.float32)
        for kind, weight in (("words", 1 - w), ("chars", w)):
            if weight:
                out += weight * (self.vectorizers[kind].transform(questions) @ self.matrices[kind].T).toarray()
        return out

    def search(self, question: str, k: int = 5) -> list[Passage]:
        if not str(question).strip():
            raise ProeftuinError("Stel eerst een vraag.",
                                 'Bijvoorbeeld: proeftuin kennisbank ask "Hoe vraag ik een paspoort aan?"')
        scores = self.scores([question])[0]
        order = np.argsort(-scores, kind="stable")[: max(k, self.config.rerank_top if self.config.rerank_model else k)]
        if self.config.rerank_model:
            order = self._rerank(question, order)
        return [Passage(self.ids[i], float(scores[i]), self.texts[i], self.sources[i]) for i in order[:k]]

    def predict(self, frame: pd.DataFrame, k: int = 5) -> pd.DataFrame:
        """One row per question (`vraag` column): the best k ids, scores and sources."""
        rows = []
        for question in frame["vraag"].astype(str):
            hits = self.search(question, k) if question.strip() else []
            row: dict[str, Any] = {"vraag": question}
            for n, hit in enumerate(hits, 1):
                row.update({f"id_{n}": hit.id, f"score_{n}": round(hit.score, 4), f"bron_{n}": hit.source})
            rows.append(row)
        return pd.DataFrame(rows)

    def rank_of(self, questions: list[str], relevant: list[str], batch: int = 256) -> list[int | None]:
        """1-based rank of each question's relevant document (None when not in the collection)."""
        position = {doc_id: i for i, doc_id in enumerate(self.ids)}
        ranks: list[int | None] = []
        for start in range(0, len(questions), batch):
            block = self.scores(questions[start:start + batch])
            for row, doc_id in zip(block, relevant[start:start + batch], strict=True):
                target = position.get(str(doc_id).strip())
                ranks.append(None if target is None else int((row > row[target]).sum()) + 1)
        return ranks

    def _rerank(self, question: str, order: np.ndarray) -> np.ndarray:
        if self._reranker is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ProeftuinError("Herordenen met een taalmodel vraagt het pakket sentence-transformers.",
                                     "Installeer het of zet de parameter rerank_model leeg.") from None
            self._reranker = SentenceTransformer(self.config.rerank_model)
        texts = [self.texts[i][:1000] for i in order]
        vectors = self._reranker.encode([question, *texts], normalize_embeddings=True)
        return order[np.argsort(-(vectors[1:] @ vectors[0]), kind="stable")]

    def save(self, folder: Path) -> Path:
        """Write the index to `folder` atomically: a failure leaves the previous index in place."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".index-", dir=folder.parent))
        try:
            meta: dict[str, Any] = {"config": asdict(self.config), "vocabulary": {}}
            for kind in KINDS:
                sp.save_npz(tmp / f"{kind}.npz", self.matrices[kind])
                np.save(tmp / f"{kind}_idf.npy", self.vectorizers[kind].idf_.astype(np.float64), allow_pickle=False)
                meta["vocabulary"][kind] = {k: int(v) for k, v in self.vectorizers[kind].vocabulary_.items()}
            (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            (tmp / "documents.json").write_text(json.dumps(
                {"id": self.ids, "text": self.texts, "source": self.sources}, ensure_ascii=False), encoding="utf-8")
            if folder.exists():
                shutil.rmtree(folder)
            tmp.rename(folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return folder

    @classmethod
    def load(cls, folder: Path) -> Retriever:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        docs = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
        retriever = cls(RetrievalConfig(**meta["config"]), docs["id"], docs["text"], docs["source"])
        for kind in KINDS:
            vectorizer = _vectorizer(kind, meta["vocabulary"][kind], plain=retriever.config.plain_words)
            vectorizer.idf_ = np.load(folder / f"{kind}_idf.npy", allow_pickle=False).astype(np.float32)
            retriever.vectorizers[kind] = vectorizer
            retriever.matrices[kind] = sp.load_npz(folder / f"{kind}.npz").tocsr()
        return retriever


def check_collection(ids: list[Any], texts: list[Any]) -> None:
    """Every document needs a unique, non-empty id and some text."""
    clean = [str(i).strip() for i in ids]
    empty = [n for n, i in enumerate(clean) if not i]
    if empty:
        raise DataError(f"{len(empty)} document(en) zonder id (eerste op rij {empty[0] + 2}).",
                        "Geef elk document een eigen id en indexeer opnieuw; de bestaande index blijft staan.")
    seen: set[str] = set()
    dupes = sorted({i for i in clean if i in seen or seen.add(i)})
    if dupes:
        raise DataError(f"Dubbele id's in de collectie: {', '.join(dupes[:5])}{' …' if len(dupes) > 5 else ''}.",
                        "Elk document heeft een eigen id nodig; de bestaande index blijft staan.")
    if not clean:
        raise DataError("De collectie is leeg.", "Geef een CSV met minstens één document.")
    if all(not str(t).strip() for t in texts):
        raise DataError("Alle documenten zijn leeg.", "Kies de kolom met de tekst (--text-column).")


def retrieval_metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    if not n:
        raise DataError("Geen vragen om mee te meten.", "Geef een CSV met vragen en de id van hun document.")
    at = lambda k: sum(1 for r in ranks if r is not None and r <= k) / n  # noqa: E731
    mrr = sum(1 / r for r in ranks if r is not None) / n
    return {"recall_at_1": at(1), "recall_at_5": at(5), "mrr": mrr, "n": float(n)}


def lessons_documents(pilots_dir: Path) -> pd.DataFrame:
    """The platform's own lessons learned: one document per heading of each pilot's LESSONS.md."""
    rows = []
    for path in sorted(pilots_dir.glob("*/LESSONS.md")):
        slug = path.parent.name
        parts = re.split(r"^## ", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
        title = parts[0].strip().lstrip("# ").strip()
        for part in parts[1:]:
            heading, _, body = part.partition("\n")
            if body.strip():
                rows.append({"id": f"lessen:{slug}:{slugish(heading)}", "text": f"{title}. {heading}. {body.strip()}",
                             "source": f"Lessen van pilot {slug} ({heading.strip()})"})
    return pd.DataFrame(rows, columns=["id", "text", "source"])


def slugish(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
