"""MLflow tracking on SQLite (the embedded default) vs PostgreSQL, side by side in one run.

Both stores are used the way the CLI uses them: `MlflowClient` straight against the store URI
(`sqlite:///<tmp>/mlflow.db` and `postgresql+psycopg://...` on a real PostgreSQL server on loopback,
started by tests/servers.py). A run is logged as `proeftuin run` logs one: created with the platform's tags
(`tracking.run_tags`), then its params (`tracking.log_params`), its metrics in one batch
(`tracking.log_metrics_batch`) and its end (`set_terminated`); artifacts stay out (they are files, not the store).

1. log: N runs (default 10,000) by one writer, runs per second.
2. compare over those N runs, two ways:
   - `tracking.compare_runs(..., by="organisation")`, exactly what `proeftuin compare --by organisation` runs
     (large pages of finished runs, ordered in Python);
   - store-side: per organisation, `search_runs` filtered on the organisation tag and ordered by the metric
     (`order_by=["metrics.macro_f1 DESC"]`), paging (1,000 a page) through all of them.
3. 1, 4 and 16 concurrent writers: separate processes, each with its own client, released at the same moment,
   each logging its share of a fixed total (default 480 runs, so 480 / 120 / 30 per writer) into a store
   that already holds the N runs. Runs per second (runs logged without error / wall time) and errors: any
   exception in a run's four calls (SQLite's "database is locked" among them) is counted, not fatal.
   Afterwards the store is counted: finished runs must equal the runs reported as logged.

The table ends with the ratio PostgreSQL/SQLite (>1: PostgreSQL is faster). PostgreSQL runs with fsync=off
(tests/servers.py), SQLite with its defaults (rollback journal, MLflow's 20 s busy timeout).

Usage: python bench/tracking_backends.py [--runs 10000] [--concurrent-runs 480] [--writers 1,4,16] [--quick]
  --quick: a short smoke run (300 runs, 96 concurrent runs).
The default run takes about 20 minutes on 2 cores: MLflow spends ~40 ms of mostly client CPU per run on either
store, so the two single-writer logs of 10,000 runs alone are ~13 minutes (`--runs 4000` is about 10 minutes).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import ROOT

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no usage pings from a benchmark (or its writers)
# tests/servers.py starts the real PostgreSQL server (never as root, on loopback, in a temporary folder, stopped
# by itself when this process ends); it lives with the tests, so its folder goes on the import path here.
sys.path.insert(0, str(ROOT / "tests"))

from servers import postgres_server  # noqa: E402

from proeftuin import tracking  # noqa: E402
from proeftuin.pilot import find_pilot  # noqa: E402
from proeftuin.settings import load_settings  # noqa: E402

METRIC = "macro_f1"
PAGE = 1000  # search_runs page size for the store-side ordering
STORE_MODULES: list[str] = []  # modules MLflow imports when a store is first opened (filled in by main)


def _platform_run() -> tuple[dict[str, str], dict[str, object], list[str]]:
    """The vragenrouter's run tags (as `proeftuin run` sets them), its params and the organisations."""
    settings = load_settings(ROOT / "proeftuin.yaml")
    pilot = find_pilot(settings.pilots_dir, "vragenrouter")
    tags = tracking.run_tags(pilot, "kortrijk", "3f9a6c0d2b71", "model", settings)  # git is asked once, here
    return tags, pilot.params(None), [o.slug for o in settings.organisations]


def _metrics(rng: random.Random) -> dict[str, float]:
    return {METRIC: rng.random(), "accuracy": rng.random(), "top3_accuracy": rng.random(),
            "macro_precision": rng.random(), "macro_recall": rng.random(), "skipped_empty": 0.0,
            "train_rows": 4000.0, "test_rows": 1000.0, "privacy_email": float(rng.randint(0, 9))}


def log_one(client, experiment_id: str, tags: dict[str, str], params: dict, organisation: str,
            rng: random.Random) -> None:
    """One run as `proeftuin run` writes it to the store: create (tags), params, metrics batch, terminate."""
    run = client.create_run(experiment_id, tags={**tags, tracking.TAG_ORG: organisation},
                            run_name=f"{organisation}-model")
    run_id = run.info.run_id
    tracking.log_params(client, run_id, params)
    tracking.log_metrics_batch(client, run_id, _metrics(rng))
    client.set_terminated(run_id)


def _error_kind(exc: BaseException) -> str:
    text = str(exc).lower()
    for known in ("database is locked", "database table is locked", "deadlock", "unique constraint",
                  "could not serialize", "too many connections", "timeout"):
        if known in text:
            return known
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:80]}"


def writer(uri: str, experiment_id: str, n: int, seed: int, run: tuple, barrier, results) -> None:
    """A separate process with its own client: waits for the others, then logs its n runs."""
    try:
        from mlflow.tracking import MlflowClient

        tags, params, organisations = run
        client = MlflowClient(uri)
        client.get_experiment(experiment_id)  # connected and schema checked before the clock starts
        rng = random.Random(seed)
    except BaseException as exc:
        barrier.abort()  # the parent and the other writers stop waiting
        results.put((0, {f"writer did not start: {_error_kind(exc)}": n}, 0.0, 0.0))
        raise
    errors: Counter[str] = Counter()
    ok = 0
    barrier.wait()
    start = time.monotonic()
    for i in range(n):
        try:
            log_one(client, experiment_id, tags, params, organisations[(seed + i) % len(organisations)], rng)
            ok += 1
        except Exception as exc:  # counted, not fatal: that is what is measured
            errors[_error_kind(exc)] += 1
    results.put((ok, dict(errors), start, time.monotonic()))


def concurrent(uri: str, client, writers: int, total: int, run: tuple) -> dict:
    experiment_id = client.create_experiment(f"writers-{writers}")
    # forkserver: one clean process imports MLflow and the platform once and each writer is forked from it, so
    # 16 writers start in seconds and none inherits this process's database connections. Preloaded: this module's
    # imports (each writer re-imports this file) and what MLflow imported lazily when the first store was opened.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["_common", "servers", "proeftuin.tracking", "proeftuin.pilot",
                                    "proeftuin.settings", "psycopg", "sqlalchemy.dialects.postgresql.psycopg",
                                    *STORE_MODULES])
    barrier, results = context.Barrier(writers + 1), context.Queue()
    share = [total // writers + (1 if i < total % writers else 0) for i in range(writers)]
    processes = [context.Process(target=writer, args=(uri, experiment_id, share[i], 1000 + i, run, barrier, results))
                 for i in range(writers)]
    for process in processes:
        process.start()
    barrier.wait(timeout=600)
    reports = []
    while len(reports) < writers:
        try:
            reports.append(results.get(timeout=5))
        except queue.Empty:
            if not any(p.is_alive() for p in processes):
                raise RuntimeError("a writer process died without reporting") from None
    for process in processes:
        process.join(timeout=60)
    ok = sum(r[0] for r in reports)
    errors: Counter[str] = Counter()
    for report in reports:
        errors.update(report[1])
    wall = max(r[3] for r in reports) - min(r[2] for r in reports)
    finished = len(_all_runs(client, experiment_id, "attributes.status = 'FINISHED'"))
    stored = len(_all_runs(client, experiment_id, ""))
    assert finished == ok, f"{finished} finished runs in the store, {ok} reported as logged"
    return {"writers": writers, "per_writer": share[0], "ok": ok, "errors": errors, "wall": wall,
            "rate": ok / wall, "stored": stored}


def _all_runs(client, experiment_id: str, filter_string: str, order_by: list[str] | None = None) -> list:
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], filter_string=filter_string, order_by=order_by,
                                  max_results=PAGE, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def single_writer(client, n: int, tags: dict[str, str], params: dict, organisations: list[str], name: str) -> dict:
    experiment_id = client.create_experiment("vragenrouter")
    rng = random.Random(7)
    start = time.perf_counter()
    for i in range(n):
        log_one(client, experiment_id, tags, params, organisations[i % len(organisations)], rng)
        if (i + 1) % 2000 == 0:
            print(f"  {name}: {i + 1}/{n} runs logged", file=sys.stderr)
    log_s = time.perf_counter() - start

    start = time.perf_counter()
    best = tracking.compare_runs(client, experiment_id, METRIC, True, by="organisation")
    compare_s = time.perf_counter() - start

    start = time.perf_counter()
    seen, store_best = 0, {}
    for organisation in organisations:
        runs = _all_runs(client, experiment_id, f"tags.`{tracking.TAG_ORG}` = '{organisation}'",
                         [f"metrics.{METRIC} DESC"])
        seen += len(runs)
        if runs:
            store_best[organisation] = runs[0].info.run_id
    ordered_s = time.perf_counter() - start
    assert seen == n, f"store-side search found {seen} of {n} runs"
    assert {r.organisation: r.run_id for r in best} == store_best, "compare_runs and the store disagree"
    return {"experiment": experiment_id, "log_s": log_s, "log_rate": n / log_s, "compare_s": compare_s,
            "ordered_s": ordered_s, "best": sorted((r.organisation, round(r.metrics[METRIC], 6)) for r in best)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10000, help="runs for the single-writer log and compare")
    parser.add_argument("--concurrent-runs", type=int, default=480,
                        help="total runs of each concurrency row, split over its writers")
    parser.add_argument("--writers", default="1,4,16", help="comma-separated writer counts")
    parser.add_argument("--quick", action="store_true", help="short smoke run: 300 runs, 96 concurrent runs")
    options = parser.parse_args()
    if options.quick:
        options.runs, options.concurrent_runs = 300, 96
    writer_counts = [int(w) for w in options.writers.split(",")]

    from mlflow.tracking import MlflowClient

    os.environ.pop("MLFLOW_TRACKING_URI", None)
    tags, params, organisations = _platform_run()
    run = (tags, params, organisations)
    results: dict[str, dict] = {}
    began, load_before = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tracking-backends-") as tmp, postgres_server() as pg:
        uris = {"SQLite": f"sqlite:///{Path(tmp) / 'mlflow.db'}",
                "PostgreSQL": pg.url(pg.create_database("mlflow"))}
        fsync_ms = _fsync_ms(Path(tmp))
        for name, uri in uris.items():
            imported = set(sys.modules)
            start = time.perf_counter()
            client = MlflowClient(uri)  # creates the schema (MLflow's migrations)
            client.search_experiments()
            schema_s = time.perf_counter() - start
            STORE_MODULES.extend(sorted(set(sys.modules) - imported))
            print(f"{name}: schema in {schema_s:.1f} s; logging {options.runs} runs (one writer)…", file=sys.stderr)
            results[name] = single_writer(client, options.runs, tags, params, organisations, name)
            results[name]["schema_s"] = schema_s
            results[name]["concurrent"] = []
            for writers in writer_counts:
                print(f"{name}: {writers} concurrent writers, {options.concurrent_runs} runs…", file=sys.stderr)
                results[name]["concurrent"].append(concurrent(uri, client, writers, options.concurrent_runs, run))
    assert results["SQLite"]["best"] == results["PostgreSQL"]["best"], "the backends rank differently"
    context = {"fsync_ms": fsync_ms, "minutes": (time.perf_counter() - began) / 60,
               "load": (load_before, os.getloadavg()[0])}
    report(results, options, writer_counts, context)


def _fsync_ms(folder: Path) -> float:
    """What one durable 4 KiB write costs on the disk under the SQLite file (PostgreSQL here skips it)."""
    path = folder / "fsync-probe"
    with path.open("wb") as out:
        start = time.perf_counter()
        for _ in range(50):
            out.write(b"x" * 4096)
            out.flush()
            os.fsync(out.fileno())
        elapsed = time.perf_counter() - start
    path.unlink()
    return elapsed / 50 * 1000


def report(results: dict[str, dict], options, writer_counts: list[int], context: dict) -> None:
    sq, pg = results["SQLite"], results["PostgreSQL"]
    n = options.runs
    print(f"\nMLflow tracking store: SQLite vs PostgreSQL ({os.cpu_count()} cores; a run = create with the platform's "
          f"tags, {len(_platform_run()[1])} params, metrics batch, terminate)")
    print(f"{'measure':<52} {'SQLite':>12} {'PostgreSQL':>12} {'PG/SQLite':>10}")

    def row(label: str, a: float, b: float, unit: str, higher_is_better: bool) -> None:
        ratio = (b / a if higher_is_better else a / b) if a and b else float("nan")
        print(f"{label:<52} {a:>10.2f}{unit:>2} {b:>10.2f}{unit:>2} {ratio:>9.2f}x")

    row(f"log {n} runs, 1 writer (runs/s)", sq["log_rate"], pg["log_rate"], "", True)
    row("  total time (s)", sq["log_s"], pg["log_s"], "s", False)
    row(f"compare {n} runs: compare_runs --by organisation (s)", sq["compare_s"], pg["compare_s"], "s", False)
    row(f"compare {n} runs: per-org search, order_by metric (s)", sq["ordered_s"], pg["ordered_s"], "s", False)
    for a, b in zip(sq["concurrent"], pg["concurrent"], strict=True):
        label = f"{a['writers']:>2} writer(s) x {a['per_writer']} runs: runs/s"
        row(label, a["rate"], b["rate"], "", True)
        print(f"{'    errors (runs failed of ' + str(options.concurrent_runs) + ')':<52} "
              f"{sum(a['errors'].values()):>12} {sum(b['errors'].values()):>12}")
    print("(ratio >1: PostgreSQL is better; for times the ratio is SQLite time / PostgreSQL time)")
    for name, result in results.items():
        for c in result["concurrent"]:
            if c["errors"]:
                kinds = ", ".join(f"{k} x{v}" for k, v in c["errors"].most_common())
                print(f"{name}, {c['writers']} writers: {kinds}; {c['stored'] - c['ok']} runs left unfinished")
    print(f"schema creation: SQLite {sq['schema_s']:.1f} s, PostgreSQL {pg['schema_s']:.1f} s; both backends found "
          "the same best run per organisation; every run reported as logged is FINISHED in the store")
    print(f"PostgreSQL ran with fsync=off (tests/servers.py); with fsync=on each commit would add a WAL flush, "
          f"{context['fsync_ms']:.2f} ms on this disk (fsync of a 4 KiB write). "
          f"Whole benchmark: {context['minutes']:.1f} min; load average {context['load'][0]:.1f} before, "
          f"{context['load'][1]:.1f} after (other work on the machine shows up here)")


if __name__ == "__main__":
    main()
