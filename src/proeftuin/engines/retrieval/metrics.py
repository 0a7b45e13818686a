"""Retrieval metrics: the rank of each question's relevant document, recall@1, recall@5 and MRR."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from proeftuin.errors import DataError

if TYPE_CHECKING:
    from proeftuin.engines.retrieval.retriever import Retriever


def rank_of(retriever: Retriever, questions: list[str], relevant: list[str], batch: int = 256) -> list[int | None]:
    """1-based rank of each question's relevant document (None when not in the collection), as `search`
    shows it: each text once, at the best score of the documents that carry it; equal scores share
    the best rank.
    """
    position = {doc_id: i for i, doc_id in enumerate(retriever.ids)}
    groups = retriever.text_groups()
    by_text = np.argsort(groups, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(groups[by_text]) != 0])
    column = np.searchsorted(groups[by_text][starts], groups)  # each document's text, as a column
    ranks: list[int | None] = []
    for start in range(0, len(questions), batch):
        block, _ = retriever.ranking_scores(questions[start:start + batch])
        best = np.maximum.reduceat(block[:, by_text], starts, axis=1)  # questions x distinct texts
        for row, doc_id in zip(best, relevant[start:start + batch], strict=True):
            target = position.get(str(doc_id).strip())
            ranks.append(None if target is None else int((row > row[column[target]]).sum()) + 1)
    return ranks


def retrieval_metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    if not n:
        raise DataError("Geen vragen om mee te meten.", "Geef een CSV met vragen en de id van hun document.")
    at = lambda k: sum(1 for r in ranks if r is not None and r <= k) / n  # noqa: E731
    mrr = sum(1 / r for r in ranks if r is not None) / n
    return {"recall_at_1": at(1), "recall_at_5": at(5), "mrr": mrr, "n": float(n)}
