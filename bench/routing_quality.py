"""Routing quality: the vragenrouter model vs the Signalen-style baseline, same held-out split.

Both are trained on the training part only; the numbers come from the 20 % neither has seen.
Usage: python bench/routing_quality.py
"""

from __future__ import annotations

import time

from _common import help_if_asked, router_split


def main() -> None:
    help_if_asked(__doc__)
    pilot, params, train, test = router_split()
    module = pilot.pipeline()
    print(f"train {len(train)} rows, held-out {len(test)} rows, {train['label'].nunique()} departments")
    results = {}
    for name, trainer in (("baseline (Signalen)", module.train_baseline), ("vragenrouter", module.train)):
        start = time.perf_counter()
        model = trainer(train, params)
        fit = time.perf_counter() - start
        results[name] = module.evaluate(model, test)
        results[name]["fit_seconds"] = fit
    keys = ["macro_f1", "accuracy", "top3_accuracy", "auto_share", "auto_accuracy", "fit_seconds"]
    print(f"{'':<22}" + "".join(f"{k:>15}" for k in keys))
    for name, metrics in results.items():
        print(f"{name:<22}" + "".join(f"{metrics[k]:>15.3f}" for k in keys))
    base, ours = results["baseline (Signalen)"], results["vragenrouter"]
    print(f"\nthreshold {params['threshold']}")
    print(f"macro-F1 ratio vragenrouter / baseline: {ours['macro_f1'] / base['macro_f1']:.2f}x (goal >= 1.15x)")
    print(f"top-3 accuracy: {ours['top3_accuracy']:.3f} (goal >= 0.88)")
    print(f"routed automatically: {ours['auto_share']:.1%} at accuracy {ours['auto_accuracy']:.3f} "
          "(goal >= 50% at >= 0.90)")


if __name__ == "__main__":
    main()
