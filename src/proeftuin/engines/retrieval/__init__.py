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

The modules, each one concern (this package re-exports their public names; import from here):
- `index`: text processing (stem, words, word pairs, first line) and the lexical TF-IDF views
- `ranker`: the learned re-ranker (its features, learning, the question memory)
- `encoder`: the embedding model (`Encoder`, `PACKAGED_MODELS`; torch and transformers load lazily)
- `retriever`: `Retriever` (build, search, predict, save, load), `RetrievalConfig`, `Passage`, `AI_NOTICE`
- `metrics`: rank of the relevant document, recall@1, recall@5, MRR
- `documents`: the pilots' lessons learned as a document collection
- `engine`: the engine adapter `ENGINE` for proeftuin.engines.registry
"""

from __future__ import annotations

from proeftuin.engines.retrieval.documents import lessons_documents
from proeftuin.engines.retrieval.encoder import PACKAGED_MODELS, EmbeddingReranker, Encoder
from proeftuin.engines.retrieval.engine import ENGINE
from proeftuin.engines.retrieval.index import (
    HEAD_CHARS,
    KINDS,
    LexicalIndex,
    check_collection,
    first_line,
    stem,
    word_grams,
    words,
)
from proeftuin.engines.retrieval.metrics import rank_of, retrieval_metrics
from proeftuin.engines.retrieval.ranker import FEATURES, LearnedRanker
from proeftuin.engines.retrieval.retriever import AI_NOTICE, Passage, RetrievalConfig, Retriever

__all__ = [
    "AI_NOTICE",
    "ENGINE",
    "FEATURES",
    "HEAD_CHARS",
    "KINDS",
    "PACKAGED_MODELS",
    "EmbeddingReranker",
    "Encoder",
    "LearnedRanker",
    "LexicalIndex",
    "Passage",
    "RetrievalConfig",
    "Retriever",
    "check_collection",
    "first_line",
    "lessons_documents",
    "rank_of",
    "retrieval_metrics",
    "stem",
    "word_grams",
    "words",
]
