"""Kennisbank retrieval on the Chamber questions: index the 2,784 answers, ask each question.

The relevant document of a question is its own answer (same doc_id). The questions are split in two
halves (seed 42): the tuning half picks the weight of the character n-grams, the held-out half, never
used for any choice, gives the reported figures. Baseline side by side: plain TF-IDF over words.
Usage: python bench/kennisbank_recall.py [--json]
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
from _common import ROOT

from proeftuin.retrieval import RetrievalConfig, Retriever, retrieval_metrics  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "dekamer-2017" / "dekamer_2017_nl.csv"
WEIGHTS = (0.3, 0.5, 0.7)


def main() -> None:
    frame = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    frame = frame[frame["answer"].str.strip() != ""].reset_index(drop=True)
    order = np.random.default_rng(42).permutation(len(frame))
    tune, held_out = frame.iloc[order[: len(frame) // 2]], frame.iloc[order[len(frame) // 2:]]
    started = time.perf_counter()
    model = Retriever.build(frame["doc_id"].tolist(), frame["answer"].tolist())
    built = time.perf_counter() - started

    def measure(retriever: Retriever, part: pd.DataFrame) -> dict[str, float]:
        return retrieval_metrics(retriever.rank_of(part["question"].tolist(), part["doc_id"].tolist()))

    tuning = {}
    for weight in WEIGHTS:
        model.config.char_weight = weight
        tuning[weight] = measure(model, tune)["recall_at_5"]
    model.config.char_weight = max(tuning, key=tuning.get)
    ours = measure(model, held_out)
    everything = measure(model, frame)
    baseline_model = Retriever.build(frame["doc_id"].tolist(), frame["answer"].tolist(),
                                     config=RetrievalConfig(char_weight=0.0, plain_words=True))
    baseline = measure(baseline_model, held_out)
    result = {
        "documents": len(frame), "held_out_questions": len(held_out), "index_seconds": round(built, 1),
        "tuning_recall_at_5": tuning, "char_weight": model.config.char_weight,
        "held_out": ours, "held_out_baseline_plain_tfidf": baseline, "all_questions": everything,
        "ratio_recall_at_5": ours["recall_at_5"] / baseline["recall_at_5"],
        "ratio_mrr": ours["mrr"] / baseline["mrr"], "goal_recall_at_5": 0.90,
    }
    if "--json" in sys.argv:
        print(json.dumps(result, indent=2))
        return
    print(f"{len(frame)} antwoorden geïndexeerd in {built:.1f} s; {len(held_out)} vragen die nooit gebruikt werden")
    print(f"{'':22}{'recall@1':>10}{'recall@5':>10}{'MRR':>8}")
    for name, m in (("gewone TF-IDF", baseline), ("kennisbank", ours)):
        print(f"{name:22}{m['recall_at_1']:10.3f}{m['recall_at_5']:10.3f}{m['mrr']:8.3f}")
    print(f"verhouding recall@5 {result['ratio_recall_at_5']:.2f}x, MRR {result['ratio_mrr']:.2f}x "
          f"(doel recall@5 >= 0,90: {'gehaald' if ours['recall_at_5'] >= 0.9 else 'niet gehaald'})")


if __name__ == "__main__":
    main()
