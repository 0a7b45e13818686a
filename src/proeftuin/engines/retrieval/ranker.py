"""The learned re-ranker (`Retriever.learn`, from question-answer pairs).

A logistic regression re-orders the best `candidates` passages on the lexical scores of several views
(whole question and its first line against whole passages and their opening), document and question
length, and a memory of the learned questions: when a nearly identical question was answered before,
passages that resemble its answer are more likely, and that answer itself is not (the same question sent
to several ministers gets one answer each). Only the given pairs are used, and only their own answers
serve as candidates while learning. The ranker is stored as plain numbers (`Retriever.ranker`, in JSON).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from proeftuin.engines.retrieval.index import _standardise, first_line
from proeftuin.errors import DataError, ProeftuinError

# The learned re-ranker's inputs, in this order (each lexical view is standardised per question).
FEATURES = ("words", "chars", "words_first_line", "chars_first_line", "words_head", "chars_head", "fused",
            "log_rank", "twin_evidence", "twin_strength", "twin_answer", "doc_length", "question_length")


def probability(ranker: dict[str, Any], features: np.ndarray) -> np.ndarray:
    """The learned re-ranker's probability that each candidate answers its question (features: ... x FEATURES)."""
    r = ranker
    logits = ((features - np.array(r["mean"])) / np.array(r["scale"])) @ np.array(r["weights"]) + r["intercept"]
    return 1 / (1 + np.exp(-logits))


class LearnedRanker:
    """The learned stage of the `Retriever` (its `ranker`, `memory` and `memory_answers`)."""

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

