"""The gates of each stage, checked on evidence: the manifest, the files, MLflow runs, the demo, the scrubber.

Each gate says in Dutch what it checked, whether it passed, what was found (or what to do), and the evidence
it rests on (run ids, file hashes), which `promote` records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from proeftuin import tracking, wording
from proeftuin.errors import ProeftuinError
from proeftuin.governance import aiact, register
from proeftuin.governance.duties import dpia_status, fria_required
from proeftuin.pilot import BrokenPilot, Pilot, discover_pilots
from proeftuin.pilot import lessons as lessons_md
from proeftuin.settings import Settings

UNKNOWN_LICENCES = {"onbekend", "unknown", "?", "tbd", "nvt", "n.v.t.", "todo", "none", "geen"}
PLACEHOLDER = "(vul aan"
SCAN_ROWS = 5000


@dataclass
class Gate:
    id: str
    title: str
    passed: bool
    detail: str
    evidence: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


@dataclass
class Context:
    """What the gates read, fetched once: the pilot, the settings and an MLflow client."""

    pilot: Pilot
    settings: Settings
    client: Any
    _runs: dict[str, list[Any]] | None = None

    def runs(self, kind: str) -> list[Any]:
        """Finished runs of `kind` (model, baseline) in the pilot's experiment, best first on the primary metric."""
        if self._runs is None:
            self._runs = {"model": [], "baseline": []}
            experiment = self.client.get_experiment_by_name(self.pilot.slug)
            if experiment is not None and experiment.lifecycle_stage != "deleted":
                metric = self.pilot.manifest.metric
                for row in tracking.compare_runs(self.client, experiment.experiment_id, metric.name,
                                                 metric.greater_is_better):
                    if metric.name in row.metrics and row.metrics.get("test_rows", 1) > 0:
                        self._runs.setdefault(row.kind, []).append(row)
        return self._runs.get(kind, [])


# -- to experiment -------------------------------------------------------------------------------------------

def manifest_complete(ctx: Context) -> Gate:
    m = ctx.pilot.manifest
    evidence = {"pilot.yaml": file_hash(ctx.pilot.path / "pilot.yaml")}
    problems = []
    for i, source in enumerate(m.data):
        if source.licence.strip().lower() in UNKNOWN_LICENCES:
            problems.append(f"data.{i} ({source.path}) heeft geen echte licentie ('{source.licence}')")
        path = ctx.pilot.path / source.path
        if path.is_file():
            evidence[source.path] = file_hash(path)
    if problems:
        return Gate("manifest", "Manifest volledig; elke gegevensbron heeft een licentie en een vlag voor "
                    "persoonsgegevens", False, "; ".join(problems) + ". Zet de licentie van de bron in pilot.yaml "
                    "(bv. CC-BY-4.0, CC0-1.0 of 'intern, toestemming van ...').", evidence)
    return Gate("manifest", "Manifest volledig; elke gegevensbron heeft een licentie en een vlag voor "
                "persoonsgegevens", True, f"{len(m.data)} gegevensbron(nen), elk met licentie en vlag.", evidence)


# -- to pilot ------------------------------------------------------------------------------------------------

def beats_baseline(ctx: Context) -> Gate:
    m = ctx.pilot.manifest
    title = f"Een gelogde run verslaat de gelogde baseline op {wording.metric_label(m.metric.name)} (testgegevens)"
    models, baselines = ctx.runs("model"), ctx.runs("baseline")
    if not baselines:
        return Gate("baseline", title, False, f"Er is nog geen baseline gelogd. Doe: proeftuin run {m.slug} --baseline")
    if not models:
        return Gate("baseline", title, False, f"Er is nog geen model gelogd. Doe: proeftuin run {m.slug}")
    best = models[0]
    base = next((b for b in baselines if b.data_hash == best.data_hash), None)
    if base is None:
        return Gate("baseline", title, False, f"De beste run ({best.run_id[:8]}) heeft geen baseline op dezelfde "
                    f"gegevens. Doe een baseline-run met dezelfde gegevens en parameters: proeftuin run {m.slug} "
                    "--baseline (met dezelfde --data en --param als die run).", {"run_id": best.run_id})
    value, reference = best.metrics[m.metric.name], base.metrics[m.metric.name]
    evidence = {"run_id": best.run_id, "baseline_run_id": base.run_id, "data_hash": best.data_hash,
                m.metric.name: f"{value:.4f}", f"baseline_{m.metric.name}": f"{reference:.4f}"}
    shown = f"{wording.value(m.metric.name, value)} tegenover {wording.value(m.metric.name, reference)}"
    if tracking.is_better(value, reference, m.metric.greater_is_better) and value != reference:
        return Gate("baseline", title, True, f"Beste run {best.run_id[:8]}: {shown}.", evidence)
    return Gate("baseline", title, False, f"De beste run haalt {shown}: niet beter dan de baseline. Verbeter het "
                "model (andere parameters of meer gegevens) en doe een nieuwe run.", evidence)


def demo_builds(ctx: Context) -> Gate:
    m = ctx.pilot.manifest
    title = "De demo bouwt met het kampioensmodel"
    version = tracking.champion_version(ctx.client, m.slug)
    if version is None:
        return Gate("demo", title, False, f"Er is nog geen kampioensmodel. Doe: proeftuin run {m.slug}")
    try:
        import gradio as gr

        from proeftuin.models import load_model

        model = load_model(f"models:/{m.slug}@{tracking.CHAMPION_ALIAS}")
        blocks = ctx.pilot.demo().build_demo(model)
        if not isinstance(blocks, gr.Blocks):
            raise TypeError(f"build_demo gaf {type(blocks).__name__} terug in plaats van gradio.Blocks")
    except Exception as exc:  # noqa: BLE001 (a pilot's demo may fail in any way: that is what this gate finds)
        first = (getattr(exc, "message", None) or str(exc) or type(exc).__name__).splitlines()[0][:300]
        return Gate("demo", title, False, f"De demo bouwt niet: {first}. Probeer ze met: proeftuin gallery",
                    {"champion_version": str(version.version)})
    return Gate("demo", title, True, f"Demo gebouwd met kampioensmodel versie {version.version}.",
                {"champion_version": str(version.version), "demo.py": file_hash(ctx.pilot.path / "demo.py")})


def profile_filled(ctx: Context) -> Gate:
    m = ctx.pilot.manifest
    title = "Het AI-Act-profiel is ingevuld"
    profile = m.ai_act.profile
    if profile is None:
        return Gate("ai_act", title, False, f"Bepaal het profiel met: proeftuin ai-act {m.slug}")
    if profile.risk_group == "verboden AI":
        return Gate("ai_act", title, False, "Het profiel zegt 'verboden AI': zo'n systeem mag niet in gebruik. "
                    f"Stop de pilot: proeftuin promote {m.slug} --to gestopt --reason \"...\"")
    return Gate("ai_act", title, True, f"{profile.type}, {profile.risk_group} ({profile.publication_category}).",
                {"risk_group": profile.risk_group, "decided_at": profile.decided_at})


def oversight_measured(ctx: Context) -> Gate:
    m = ctx.pilot.manifest
    title = "Menselijk toezicht beschreven" + (" en het aandeel dat naar een mens gaat gemeten"
                                                if m.human_oversight.threshold_parameter else "")
    if not m.human_oversight.threshold_parameter:
        return Gate("toezicht", title, True, m.human_oversight.description[:200])
    models = ctx.runs("model")
    if not models or "auto_share" not in models[0].metrics:
        return Gate("toezicht", title, False, "Het aandeel dat naar een medewerker gaat is niet gemeten: de beste run "
                    f"heeft geen auto_share. Doe een run met de drempel: proeftuin run {m.slug}")
    share = 1 - models[0].metrics["auto_share"]
    return Gate("toezicht", title, True, f"{wording.percent(share)} van de testgevallen gaat naar een medewerker.",
                {"run_id": models[0].run_id, "human_share": f"{share:.4f}"})


def personal_data_handled(ctx: Context) -> Gate:
    pilot, m = ctx.pilot, ctx.pilot.manifest
    title = "Persoonsgegevens: DPIA gedaan (of waarom niet) en het scrubberrapport over de gegevens is schoon"
    done, how = dpia_status(m, pilot.path)
    evidence = {}
    if m.dpia is not None and m.dpia.file and done:
        evidence["dpia"] = file_hash(pilot.path / m.dpia.file)
    if not done:
        return Gate("persoonsgegevens", title, False, how, evidence)
    findings, rows = scrub_report(pilot)
    evidence["scanned_rows"] = str(rows)
    if findings:
        counts = "; ".join(f"kolom {column}: " + ", ".join(f"{n} × {kind}" for kind, n in sorted(kinds.items()))
                           for column, kinds in sorted(findings.items()))
        return Gate("persoonsgegevens", title, False, f"In wat een run opslaat, vindt de scrubber nog persoonsgegevens "
                    f"({counts}). Laat die kolommen weg in load_data van pipeline.py, of scrub ze daar.", evidence)
    return Gate("persoonsgegevens", title, True, f"{how}. Scrubberrapport schoon over {rows} rijen.", evidence)


def scrub_report(pilot: Pilot) -> tuple[dict[str, dict[str, int]], int]:
    """What the scrubber still finds in the data a run stores, after the pilot's own scrubbing: per text column,
    the count per kind (should be nothing), and how many rows were read (at most SCAN_ROWS)."""
    import pandas as pd

    from proeftuin.privacy import default_scrubber
    from proeftuin.runs import load_pilot_data

    data = load_pilot_data(pilot, pilot.params()).head(SCAN_ROWS)
    scrubber = default_scrubber()
    found: dict[str, dict[str, int]] = {}
    for column in data.columns:
        if not pd.api.types.is_string_dtype(data[column]):
            continue
        for value in data[column].tolist():
            if isinstance(value, str):
                for kind, _, _ in scrubber.find(value):
                    counts = found.setdefault(str(column), {})
                    counts[kind] = counts.get(kind, 0) + 1
    return found, len(data)


def fria_done(ctx: Context) -> Gate:
    m = ctx.pilot.manifest
    title = "Grondrechtenbeoordeling (FRIA, art. 27) gedaan"
    if m.fria is None:
        return Gate("fria", title, False, f"Een hoog-risico AI-systeem bij een overheid vraagt een FRIA. Vul ze in "
                    f"met: proeftuin fria {m.slug}")
    return Gate("fria", title, True, f"Ingevuld door {m.fria.completed_by} op {m.fria.completed_at[:10]}.",
                {"fria_completed_at": m.fria.completed_at})


# -- to opschalen --------------------------------------------------------------------------------------------

def lessons_complete(ctx: Context) -> Gate:
    path = ctx.pilot.path / lessons_md.LESSONS
    sections = lessons_md.read(path).by_heading()
    empty = [h.removeprefix("## ") for h in lessons_md.REQUIRED_HEADINGS
             if not sections.get(h, "").strip() or sections[h].strip().lower().startswith(PLACEHOLDER)]
    title = "De lessen zijn volledig"
    if empty:
        return Gate("lessen", title, False, f"Nog in te vullen in LESSONS.md: {', '.join(empty)}.")
    return Gate("lessen", title, True, "Alle vier de delen zijn ingevuld.", {"LESSONS.md": file_hash(path)})


def champion_registered(ctx: Context) -> Gate:
    m = ctx.pilot.manifest
    version = tracking.champion_version(ctx.client, m.slug)
    if version is None:
        return Gate("kampioen", "Er is een geregistreerd kampioensmodel", False, f"Doe: proeftuin run {m.slug}")
    return Gate("kampioen", "Er is een geregistreerd kampioensmodel", True, f"models:/{m.slug}@champion is versie "
                f"{version.version}.", {"champion_version": str(version.version), "champion_run_id": version.run_id})


def taken_up(ctx: Context) -> Gate:
    m = ctx.pilot.manifest
    others = {p for p in m.participants if p != m.owner}
    known = {o.slug for o in ctx.settings.organisations}
    forks = {}
    for found in discover_pilots(ctx.settings.pilots_dir, known, strict=False):
        if not isinstance(found, BrokenPilot) and found.manifest.forked_from == m.slug:
            forks[found.manifest.owner] = found.slug
    others |= {org for org in forks if org != m.owner}
    title = "Minstens twee andere organisaties doen mee of hergebruiken de pilot"
    names = ", ".join(sorted(others)) or "geen"
    evidence = {"organisations": ",".join(sorted(others)), "forks": ",".join(sorted(forks.values()))}
    if len(others) < 2:
        return Gate("hergebruik", title, False, f"Nu: {names}. Nodig een andere organisatie uit (participants) of "
                    "laat ze de pilot hergebruiken: proeftuin new --from " + m.slug + " --org <organisatie>", evidence)
    return Gate("hergebruik", title, True, f"{len(others)} andere organisaties: {names}.", evidence)


def register_valid(ctx: Context) -> Gate:
    m = ctx.pilot.manifest
    title = "Het registerrecord is geëxporteerd en geldig voor elke organisatie die de pilot gebruikt"
    facts = register.facts_from_mlflow(ctx.client, ctx.pilot)
    problems, evidence = [], {}
    for org in m.organisations:
        try:
            record = register.build(ctx.pilot, org, ctx.settings, facts)
        except register.RecordIncomplete as exc:
            problems.append(f"{org}: mist {', '.join(exc.missing)}")
            continue
        errors = register.validation_errors(record)
        if errors:
            problems.append(f"{org}: {errors[0]}")
            continue
        import json

        blob = json.dumps(record, ensure_ascii=False, sort_keys=True).encode()
        evidence[f"register_{org}"] = f"sha256:{hashlib.sha256(blob).hexdigest()}"
    if problems:
        return Gate("register", title, False, "; ".join(problems) + f". Zie: proeftuin register export {m.slug} "
                    "--org <organisatie> --output record.json", evidence)
    return Gate("register", title, True, f"Geldig voor {', '.join(m.organisations)}.", evidence)


def _pilot_gates(ctx: Context) -> list[Callable[[Context], Gate]]:
    m = ctx.pilot.manifest
    gates: list[Callable[[Context], Gate]] = [beats_baseline, demo_builds, profile_filled, oversight_measured]
    if m.personal_data:
        gates.append(personal_data_handled)
    if fria_required(m):
        gates.append(fria_done)
    return gates


def gates_for(target: str, ctx: Context) -> list[Gate]:
    """Every gate of `target`, each checked (a failing gate does not stop the others: the user sees all)."""
    if target == "experiment":
        checks: list[Callable[[Context], Gate]] = [manifest_complete]
    elif target == "pilot":
        checks = _pilot_gates(ctx)
    elif target == "opschalen":
        checks = [lessons_complete, champion_registered, taken_up, register_valid]
    else:
        return []
    results = []
    for check in checks:
        try:
            results.append(check(ctx))
        except ProeftuinError as exc:
            results.append(Gate(check.__name__, check.__name__, False, exc.message))
    return results


__all__ = ["Context", "Gate", "aiact", "file_hash", "gates_for", "scrub_report"]
