"""Prediction latency (single item, p50/p99) and batch throughput: vragenrouter vs the baseline pipeline.

Usage: python bench/predict_latency.py [N_SINGLE]
"""

from __future__ import annotations

import sys
import time

from _common import help_if_asked, percentile, router_split


def measure(model, texts: list[str], n_single: int) -> dict[str, float]:
    model.predict(texts[:5])  # warm-up
    single = []
    for text in texts[:n_single]:
        start = time.perf_counter()
        model.predict([text])
        single.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    model.predict(texts)
    batch = time.perf_counter() - start
    return {"p50_ms": percentile(single, 50), "p99_ms": percentile(single, 99), "batch_per_s": len(texts) / batch}


def main() -> None:
    help_if_asked(__doc__)
    n_single = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    pilot, params, train, test = router_split()
    module = pilot.pipeline()
    texts = test["text"].tolist()
    rows = {
        "baseline (Signalen)": measure(module.train_baseline(train, params), texts, n_single),
        "vragenrouter": measure(module.train(train, params), texts, n_single),
    }
    print(f"{'':<22}{'p50 ms':>10}{'p99 ms':>10}{'batch items/s':>16}   "
          f"({n_single} single items, batch of {len(texts)})")
    for name, r in rows.items():
        print(f"{name:<22}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['batch_per_s']:>16.0f}")
    base, ours = rows["baseline (Signalen)"], rows["vragenrouter"]
    print(f"\nratio vragenrouter / baseline: p50 latency {ours['p50_ms'] / base['p50_ms']:.2f}x, "
          f"batch throughput {ours['batch_per_s'] / base['batch_per_s']:.2f}x")


if __name__ == "__main__":
    main()
