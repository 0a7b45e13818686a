"""Build time of the knowledge-sharing site for 10, 50, 100 and 200 generated pilots with tracked runs.

Each generated pilot is a copy of vragenrouter (another slug, owner, theme and stage) with four finished
runs in a fresh SQLite store (three organisations and a baseline), the two plots every run logs, and a
registered champion. Baseline, side by side: a plain mkdocs-material build (same theme, Dutch search, no
hook, no MLflow) of the same number of static hand-written pages. Linearity: per-page time at 200 vs 10.

Goal: at least 10 pages/s, and 100 pilots within 30 s.
Usage: python bench/docs_build.py [SIZES...]   (default 10 50 100 200)
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, help_if_asked

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"

import yaml  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from mlflow.entities import Metric, RunTag  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from proeftuin import tracking  # noqa: E402
from proeftuin.pilot import Theme  # noqa: E402
from proeftuin.settings import load_settings  # noqa: E402
from proeftuin.site import STAGES, build_site, collect_site  # noqa: E402

ORGS = ["kortrijk", "waregem", "menen", "harelbeke", "wevelgem", "zwevegem", "leiedal", "w13"]
THEMES = list(Theme.__args__)  # type: ignore[attr-defined]


def png(title: str) -> bytes:
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.imshow([[i * j for j in range(19)] for i in range(19)], cmap="Blues")
    ax.set_title(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def make_pilots(source: Path, target: Path, n: int) -> None:
    template = yaml.safe_load((source / "pilot.yaml").read_text(encoding="utf-8"))
    for i in range(n):
        slug = f"pilot-{i:03d}"
        folder = target / slug
        (folder / "data").mkdir(parents=True)
        for name in ("pipeline.py", "demo.py", "LESSONS.md", "notebook.ipynb"):
            shutil.copy(source / name, folder / name)
        (folder / "data" / "sample.csv").write_text("question,answer_department\nvraag,dienst\n", encoding="utf-8")
        owner = ORGS[i % len(ORGS)]
        manifest = {**template, "slug": slug, "title": f"Pilot {i:03d}", "owner": owner,
                    "participants": [o for o in ORGS[(i + 1) % len(ORGS):][:2] if o != owner],
                    "theme": THEMES[i % len(THEMES)], "stage": list(STAGES)[i % len(STAGES)],
                    "data": [{**template["data"][0], "path": "data/sample.csv"}],
                    "parameters": {**template["parameters"], "data_path": "data/sample.csv"}}
        (folder / "pilot.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
        os.utime(folder / "LESSONS.md", (1_700_000_000 + i * 3600,) * 2)


def populate(client: MlflowClient, settings, n: int, plots: Path) -> None:
    for i in range(n):
        slug = f"pilot-{i:03d}"
        experiment = client.create_experiment(slug, artifact_location=f"{settings.artifact_root}/{slug}")
        best = None
        for j, (org, kind) in enumerate([(ORGS[i % len(ORGS)], "model"), (ORGS[(i + 1) % len(ORGS)], "model"),
                                         (ORGS[(i + 2) % len(ORGS)], "model"), (ORGS[i % len(ORGS)], "baseline")]):
            run = client.create_run(experiment, tags={tracking.TAG_ORG: org, tracking.TAG_KIND: kind})
            value = 0.4 + 0.1 * ((i + j) % 5) / 5 - (0.1 if kind == "baseline" else 0)
            client.log_batch(run.info.run_id, metrics=[Metric("macro_f1", value, 0, 0),
                                                       Metric("accuracy", value + 0.05, 0, 0)],
                             tags=[RunTag(tracking.TAG_PILOT, slug)])
            client.log_artifacts(run.info.run_id, str(plots))
            client.set_terminated(run.info.run_id)
            if kind == "model" and (best is None or value > best[1]):
                best = (run, value)
        client.create_registered_model(slug)
        version = client.create_model_version(slug, f"{best[0].info.artifact_uri}/model", run_id=best[0].info.run_id)
        client.set_registered_model_alias(slug, tracking.CHAMPION_ALIAS, version.version)
        if (i + 1) % 50 == 0:
            print(f"  {i + 1}/{n} pilots met runs aangemaakt", file=sys.stderr)


PLAIN_MKDOCS = """site_name: Vergelijking
use_directory_urls: false
theme: {name: material, language: nl, font: false}
plugins: [{search: {lang: nl}}]
markdown_extensions: [admonition, attr_list, tables, def_list]
"""


def plain_build(pages: int, workdir: Path) -> float:
    """The baseline: mkdocs-material on `pages` static hand-written pages (no hook, no MLflow)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    docs = workdir / "docs"
    docs.mkdir(parents=True)
    sample = (ROOT / "docs" / "ai-geletterdheid.md").read_text(encoding="utf-8")
    sample = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", sample)  # standalone pages: no links between them
    for i in range(pages):
        (docs / ("index.md" if i == 0 else f"pagina-{i:03d}.md")).write_text(sample.replace("# ", f"# {i} ", 1),
                                                                             encoding="utf-8")
    (workdir / "mkdocs.yml").write_text(PLAIN_MKDOCS, encoding="utf-8")
    config = load_config(str(workdir / "mkdocs.yml"), site_dir=str(workdir / "site"))
    start = time.perf_counter()
    build(config)
    return time.perf_counter() - start


def main() -> None:
    help_if_asked(__doc__)
    sizes = [int(a) for a in sys.argv[1:]] or [10, 50, 100, 200]
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="docs-bench-") as tmp:
        tmp_path = Path(tmp)
        os.environ["PROEFTUIN_HOME"] = str(tmp_path / "state")
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        settings = load_settings(ROOT / "proeftuin.yaml")
        settings.ensure_state_dir()
        plots = tmp_path / "plots"
        for artifact in ("plots/confusion_matrix.png", "profile/label_balance.png"):
            (plots / artifact).parent.mkdir(parents=True, exist_ok=True)
            (plots / artifact).write_bytes(png(artifact))
        print(f"{max(sizes)} pilots met elk 4 runs aanmaken in een verse SQLite-store…", file=sys.stderr)
        started = time.perf_counter()
        populate(MlflowClient(settings.backend_store_uri), settings, max(sizes), plots)
        print(f"  klaar in {time.perf_counter() - started:.0f} s", file=sys.stderr)

        rows = []
        for n in sizes:
            pilots = tmp_path / f"pilots-{n}"
            make_pilots(ROOT / "pilots" / "vragenrouter", pilots, n)
            os.environ["PROEFTUIN_PILOTS_DIR"] = str(pilots)
            settings = load_settings(ROOT / "proeftuin.yaml")
            start = time.perf_counter()
            collect_site(settings)
            collect = time.perf_counter() - start
            start = time.perf_counter()
            site = build_site(settings, tmp_path / f"site-{n}")
            seconds = time.perf_counter() - start
            pages = sum(1 for _ in site.rglob("*.html"))
            plain = plain_build(pages, tmp_path / f"plain-{n}")
            rows.append((n, pages, seconds, collect, plain))
            print(f"  {n} pilots: {seconds:.1f} s", file=sys.stderr)

    print(f"\n{'pilots':>6} {'pages':>6} {'build s':>8} {'of which MLflow s':>17} {'pages/s':>8} "
          f"{'ms/page':>8} | {'plain mkdocs s':>14} {'plain pages/s':>13} {'ratio':>6}")
    for n, pages, seconds, collect, plain in rows:
        print(f"{n:>6} {pages:>6} {seconds:>8.1f} {collect:>17.1f} {pages / seconds:>8.1f} "
              f"{1000 * seconds / pages:>8.1f} | "
              f"{plain:>14.1f} {pages / plain:>13.1f} {plain / seconds:>5.2f}x")
    first, last = rows[0], rows[-1]
    growth = (last[2] / last[1]) / (first[2] / first[1])
    print(f"\nper-page time {last[0]} vs {first[0]} pilots: {growth:.2f}x "
          "(1.00x = linear; below 1: fixed costs amortised)")
    hundred = next((r for r in rows if r[0] == 100), None)
    worst = min(pages / seconds for _, pages, seconds, _, _ in rows)
    print(f"goal >= 10 pages/s: {'met' if worst >= 10 else 'NOT met'} (slowest {worst:.1f} pages/s); "
          f"100 pilots within 30 s: " + (f"{'met' if hundred[2] <= 30 else 'NOT met'} ({hundred[2]:.1f} s)"
                                         if hundred else "not measured"))


if __name__ == "__main__":
    main()
