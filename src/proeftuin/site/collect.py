"""What the site knows: every pilot (broken ones included), its lessons, and its results from MLflow.

`collect_site` reads the pilots with lenient discovery, so a broken pilot gets a page saying what is
wrong, and their results from MLflow (or why there are none), and the proposed ideas.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proeftuin.errors import ManifestError, ProeftuinError
from proeftuin.pilot import MANIFEST, BrokenPilot, Manifest, Pilot, discover_pilots, load_manifest
from proeftuin.pilot import lessons as lessons_md
from proeftuin.settings import Organisation, Settings

log = logging.getLogger("mkdocs.plugins.proeftuin")

LESSONS = "LESSONS.md"
PILOTS_DIR = "pilots"          # generated pages live under these site paths (never in docs/)
OVERVIEW_DIR = "overzicht"
PLOTS = {  # artifact of the champion run -> (file name in the site, alt text)
    "plots/confusion_matrix.png": ("verwarringsmatrix.png",
                                   "Verwarringsmatrix van het kampioensmodel: per juiste klasse waar de "
                                   "testvoorbeelden terechtkwamen. Hoe meer op de diagonaal, hoe beter."),
    "profile/label_balance.png": ("labelverdeling.png",
                                  "Staafdiagram met het aantal voorbeelden per klasse in de data van het "
                                  "kampioensmodel."),
}


@dataclass
class ResultRow:
    organisation: str
    kind: str
    value: float | None
    start_time: int
    run_id: str


@dataclass
class Results:
    """A pilot's tracked results, or the reason there are none (`unavailable`, in Dutch)."""

    unavailable: str | None = None
    experiment_id: str | None = None
    run_count: int = 0
    best_per_organisation: list[ResultRow] = field(default_factory=list)
    baseline_run: ResultRow | None = None
    champion: ResultRow | None = None
    champion_version: str | None = None
    plots: dict[str, bytes] = field(default_factory=dict)  # site file name -> PNG bytes


@dataclass
class PilotEntry:
    """One pilot folder as the site sees it: its manifest when readable, and what is wrong when not."""

    folder: str
    path: Path
    manifest: Manifest | None
    problems: list[str] = field(default_factory=list)
    problem_file: str | None = None
    lessons: str | None = None
    lessons_mtime: float = 0.0
    results: Results = field(default_factory=Results)
    facts: Any = None  # proeftuin.governance.register.Facts for the register record; None without MLflow

    @property
    def slug(self) -> str:
        return self.manifest.slug if self.manifest else self.folder

    @property
    def title(self) -> str:
        return self.manifest.title if self.manifest else self.folder

    @property
    def page_name(self) -> str:
        """The page's file name next to pilots/index.md (a pilot called "index" must not replace the overview)."""
        return f"{self.folder}-pilot.md" if self.folder == "index" else f"{self.folder}.md"

    @property
    def page(self) -> str:
        return f"{PILOTS_DIR}/{self.page_name}"

    @property
    def broken(self) -> bool:
        return bool(self.problems)


@dataclass
class SiteData:
    settings: Settings
    pilots: list[PilotEntry]
    tracking_note: str | None = None  # set when the tracking store could not be reached at all
    ideas: list[Any] = field(default_factory=list)  # proeftuin.ideas.Idea, newest first
    ideas_note: str | None = None  # set when the ideas could not be read

    def organisation(self, slug: str) -> Organisation | None:
        return next((o for o in self.settings.organisations if o.slug == slug), None)

    def org_name(self, slug: str) -> str:
        org = self.organisation(slug)
        return org.name if org else slug

    def by_slug(self, slug: str | None) -> PilotEntry | None:
        return next((e for e in self.pilots if e.manifest and e.manifest.slug == slug), None)

    def forks(self, slug: str) -> list[PilotEntry]:
        """Pilots made from this one with `proeftuin new --from` (their manifest says forked_from)."""
        return sorted((e for e in self.pilots if e.manifest and e.manifest.forked_from == slug), key=lambda e: e.slug)

    def family(self, entry: PilotEntry) -> list[tuple[PilotEntry, int]]:
        """The whole family of a pilot (origin first, forks below their source) with each one's depth."""
        from proeftuin.pilot.families import family

        origins = {e.manifest.slug: e.manifest.forked_from for e in self.pilots if e.manifest}
        members = [(self.by_slug(r.slug), r.depth) for r in family(entry.slug, origins)]
        return [(e, depth) for e, depth in members if e is not None]


def _entry(found: Pilot | BrokenPilot, known: set[str]) -> PilotEntry:
    folder = found.path
    if isinstance(found, Pilot):
        entry = PilotEntry(folder.name, folder, found.manifest)
    else:
        error = found.error
        entry = PilotEntry(folder.name, folder, None,
                           problems=list(getattr(error, "problems", [error.message])),
                           problem_file=getattr(error, "path", str(folder)))
        if (folder / MANIFEST).is_file():  # e.g. only LESSONS.md is missing: still show the card
            try:
                entry.manifest = load_manifest(folder / MANIFEST, known)
            except ManifestError:
                entry.manifest = None
    lessons = folder / LESSONS
    if lessons.is_file():
        entry.lessons = lessons_md.read_text(lessons)  # invalid UTF-8 shown as U+FFFD, as always
        entry.lessons_mtime = lessons.stat().st_mtime
    return entry


def collect_site(settings: Settings) -> SiteData:
    """Every pilot (broken ones included) with its results from MLflow when the store is reachable."""
    known = {o.slug for o in settings.organisations}
    entries = [_entry(found, known) for found in discover_pilots(settings.pilots_dir, known, strict=False)]
    data = SiteData(settings, entries)
    _attach_results(data)
    _attach_ideas(data)
    for entry in entries:
        if entry.broken:
            log.warning("Pilot '%s' is onvolledig of ongeldig: %s: %s", entry.folder, entry.problem_file,
                        "; ".join(entry.problems))
    return data


def _attach_results(data: SiteData) -> None:
    from proeftuin import tracking
    try:
        client = tracking.connect(data.settings)
    except ProeftuinError as exc:
        data.tracking_note = exc.message
        log.info("Resultaten niet beschikbaar: %s", exc.message)
    else:
        with tempfile.TemporaryDirectory(prefix="proeftuin-site-") as scratch:
            for entry in data.pilots:
                if entry.manifest is not None:
                    entry.results = _results(client, entry.manifest, Path(scratch))
                    entry.facts = _facts(client, entry)
    for entry in data.pilots:
        if data.tracking_note:
            entry.results = Results(unavailable=data.tracking_note)


def _attach_ideas(data: SiteData) -> None:
    """The proposed questions (`proeftuin.ideas`); none yet is no error, an unreadable store is said on the page."""
    from proeftuin.ideas import IdeaStore

    try:
        store = IdeaStore.existing(data.settings)  # never create the store just to show that it is empty
        if store is None:
            return
        data.ideas = store.list()
    except Exception as exc:  # noqa: BLE001 (database, permissions: the rest of the site is still worth building)
        log.warning("Ideeën niet leesbaar: %s", exc)
        data.ideas_note = f"De ideeën konden niet gelezen worden ({type(exc).__name__})."


def _results(client: Any, manifest: Manifest, scratch: Path) -> Results:
    """Best run per organisation, the best baseline run, and the champion's plots."""
    from mlflow.exceptions import MlflowException

    from proeftuin import tracking
    metric = manifest.metric
    try:
        experiment = client.get_experiment_by_name(manifest.slug)
        if experiment is None or experiment.lifecycle_stage == "deleted":
            return Results()
        rows = tracking.compare_runs(client, experiment.experiment_id, metric.name, metric.greater_is_better)
        result = Results(experiment_id=experiment.experiment_id, run_count=len(rows))
        for row in rows:  # best first, so the first of each kind/organisation is its best
            entry = ResultRow(row.organisation, row.kind, row.metrics.get(metric.name), row.start_time, row.run_id)
            if row.kind == "baseline":
                result.baseline_run = result.baseline_run or entry
            elif all(r.organisation != row.organisation for r in result.best_per_organisation):
                result.best_per_organisation.append(entry)
        version = tracking.champion_version(client, manifest.slug)
        if version is not None and version.run_id:
            result.champion_version = str(version.version)
            result.champion = next((ResultRow(r.organisation, r.kind, r.metrics.get(metric.name), r.start_time,
                                              r.run_id) for r in rows if r.run_id == version.run_id), None)
            result.plots = _champion_plots(client, version.run_id, scratch)
        return result
    except (MlflowException, OSError) as exc:
        log.info("Resultaten van %s niet beschikbaar: %s", manifest.slug, exc)
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        return Results(unavailable=f"MLflow gaf een fout bij het ophalen: {first_line}")


def _facts(client: Any, entry: PilotEntry) -> Any:
    """What the register record takes from MLflow, read as `proeftuin register export` reads it."""
    from mlflow.exceptions import MlflowException

    from proeftuin.governance.register import facts_from_mlflow

    try:
        return facts_from_mlflow(client, Pilot(entry.path, entry.manifest))
    except MlflowException as exc:
        log.warning("Gegevens voor het registerrecord van '%s' niet leesbaar: %s", entry.slug, exc.message)
        return None


def _champion_plots(client: Any, run_id: str, scratch: Path) -> dict[str, bytes]:
    from mlflow.exceptions import MlflowException

    plots = {}
    target = scratch / run_id
    with _no_progress_bars():
        for artifact, (name, _) in PLOTS.items():
            try:
                local = client.download_artifacts(run_id, artifact, str(target))
            except (MlflowException, OSError):
                continue  # an older run without this plot: the page simply does not show it
            plots[name] = Path(local).read_bytes()
    return plots


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    """MLflow draws a progress bar per download on stderr; a build downloads many small files."""
    key = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    previous = os.environ.get(key)
    os.environ[key] = "false"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = previous
