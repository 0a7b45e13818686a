"""The knowledge-sharing site: pages written by the platform from what it knows about each pilot.

`collect_site` reads the pilots (lenient discovery, so a broken pilot gets a page saying what is
wrong) and their results from MLflow (or why there are none); `render_pages` turns that into
Markdown pages and images keyed by their path in the site. `site_hooks.py` hands those to MkDocs
as virtual files, so nothing generated ever lands in docs/. `build_site` and `serve_site` back
`proeftuin docs build` and `proeftuin docs serve`.

Every string from a manifest is escaped for both HTML and Markdown (`text`), so a title like
`[x](javascript:alert(1))` is shown as written instead of becoming a link or a script.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

from proeftuin import wording
from proeftuin.errors import ManifestError, ProeftuinError
from proeftuin.pilot import (
    LESSONS_HEADINGS,
    MANIFEST,
    BrokenPilot,
    Manifest,
    Pilot,
    Theme,
    discover_pilots,
    load_manifest,
)
from proeftuin.settings import Organisation, Settings
from proeftuin.text import anchor
from proeftuin.wording import METRIC_NAMES, MONTHS, date, metric_label, number  # noqa: F401 (re-exported)

log = logging.getLogger("mkdocs.plugins.proeftuin")

MKDOCS_FILE = "mkdocs.yml"
LESSONS = "LESSONS.md"
PILOTS_DIR = "pilots"          # generated pages live under these site paths (never in docs/)
OVERVIEW_DIR = "overzicht"
PLOTS = {  # artifact of the champion run -> (file name in the site, alt text)
    "plots/confusion_matrix.png": ("verwarringsmatrix.png",
                                   "Verwarringsmatrix van het kampioensmodel: per juiste klasse waar de testvoorbeelden "
                                   "terechtkwamen. Hoe meer op de diagonaal, hoe beter."),
    "profile/label_balance.png": ("labelverdeling.png",
                                  "Staafdiagram met het aantal voorbeelden per klasse in de data van het kampioensmodel."),
}

THEMES: dict[str, str] = {  # the programme's seven themes, in its order, with a plain-language line each
    "regiowerking": "Samen met de andere gemeenten en de regio iets één keer goed doen.",
    "digitaal veilig": "Informatieveiligheid, privacy en weerbaarheid tegen digitale risico's.",
    "dienstverlening": "Burgers en ondernemers sneller en beter helpen, aan het loket en online.",
    "data": "Gegevens verzamelen, delen en gebruiken om beter te beslissen.",
    "informatie- en archiefbeheer": "Documenten en dossiers terugvinden, ordenen en bewaren.",
    "infrastructuur": "De technische basis: netwerken, toestellen, platformen.",
    "artificiële intelligentie": "AI begrijpen, uitproberen en verantwoord inzetten.",
}
STAGES: dict[str, str] = {
    "idee": "Een vraag uit de organisatie die misschien met AI op te lossen is. Nog niets gebouwd.",
    "experiment": "Een eerste model op (oefen)data: werkt het idee, en hoe goed?",
    "pilot": "Medewerkers gebruiken het in hun echte werk, onder toezicht, in één of enkele organisaties.",
    "opschalen": "Het werkt: meer organisaties nemen het over, met afspraken over beheer.",
}
RISK_CLASSES = {
    "minimaal": "minimaal risico: geen extra verplichtingen, wel AI-geletterdheid en goede praktijk",
    "beperkt": "beperkt risico: transparantieplicht (mensen weten dat ze met AI te maken hebben)",
    "hoog": "hoog risico: strenge eisen (risicobeheer, documentatie, menselijk toezicht, registratie)",
    "onaanvaardbaar": "onaanvaardbaar risico: verboden toepassing, mag niet ingezet worden",
}
RECENT_LESSONS = 10
IDEAS_PAGE = "ideeen.md"  # under OVERVIEW_DIR; each idea has the anchor idee-<id>

# --------------------------------------------------------------------------------------------------
# Escaping and Dutch formatting
# --------------------------------------------------------------------------------------------------

# Characters that start Markdown (or attr_list) syntax; written as numeric entities they render as themselves.
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_\[\]()#+\-!|{}~:.>]")


def text(value: Any) -> str:
    """A manifest string made inert for Markdown and HTML: one line, no tags, no links, no markup."""
    escaped = html.escape(" ".join(str(value).split()), quote=True)
    return _MARKDOWN_SPECIAL.sub(lambda m: f"&#{ord(m.group())};", escaped)


def attr(value: Any) -> str:
    """A string for inside an HTML attribute or raw HTML block (Markdown does not touch those)."""
    return html.escape(" ".join(str(value).split()), quote=True)


# --------------------------------------------------------------------------------------------------
# What the site knows: pilots and their results
# --------------------------------------------------------------------------------------------------


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
        from proeftuin.scaffold import family

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
        entry.lessons = lessons.read_text(encoding="utf-8", errors="replace")
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
    for entry in data.pilots:
        if data.tracking_note:
            entry.results = Results(unavailable=data.tracking_note)


def _attach_ideas(data: SiteData) -> None:
    """The proposed questions (`proeftuin.ideas`); none yet is no error, an unreadable store is said on the page."""
    from proeftuin.ideas import IdeaStore, ideas_path

    path = ideas_path(data.settings.state_dir)
    if not path.is_file():  # never create the store just to show that it is empty
        return
    try:
        data.ideas = IdeaStore(path).list()
    except Exception as exc:  # noqa: BLE001 (sqlite3, permissions: the rest of the site is still worth building)
        log.warning("Ideeën niet leesbaar in %s: %s", path, exc)
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


# --------------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------------


def render_pages(data: SiteData) -> dict[str, str | bytes]:
    """Every generated page (Markdown) and image (PNG bytes), keyed by its path in the site."""
    pages: dict[str, str | bytes] = {f"{PILOTS_DIR}/index.md": pilots_index(data)}
    for entry in data.pilots:
        pages[entry.page] = pilot_page(entry, data)
        for name, content in entry.results.plots.items():
            pages[f"{PILOTS_DIR}/{entry.folder}/{name}"] = content
    pages[f"{OVERVIEW_DIR}/themas.md"] = themes_page(data)
    pages[f"{OVERVIEW_DIR}/organisaties.md"] = organisations_page(data)
    pages[f"{OVERVIEW_DIR}/fasen.md"] = stages_page(data)
    pages[f"{OVERVIEW_DIR}/lessen.md"] = lessons_page(data)
    pages[f"{OVERVIEW_DIR}/{IDEAS_PAGE}"] = ideas_page(data)
    return pages


def _link(entry: PilotEntry, prefix: str = "") -> str:
    return f"[{text(entry.title)}]({prefix}{quote(entry.page_name)})"


def _orgs(data: SiteData, slugs: Iterable[str]) -> str:
    return ", ".join(text(data.org_name(s)) for s in slugs) or "nog geen"


def _champion_value(entry: PilotEntry) -> str:
    champion = entry.results.champion
    if entry.results.unavailable:
        return "niet beschikbaar"
    return wording.value(entry.manifest.metric.name, champion.value) if champion else "nog geen model"


def _champion_result(entry: PilotEntry) -> str:
    """The champion's value, labelled with its metric when there is one."""
    result = _champion_value(entry)
    return text(wording.technical(entry.manifest.metric.name, entry.results.champion.value)) \
        if entry.results.champion else result


def pilots_index(data: SiteData) -> str:
    lines = ["# Alle pilots", "",
             "Elke pagina hieronder schrijft het platform zelf, bij elke bouw opnieuw, uit de pilotmap "
             "(`pilot.yaml`, `LESSONS.md`) en de resultaten in MLflow. Zo is ze nooit verouderd.", ""]
    if data.tracking_note:
        lines += ['!!! warning "Resultaten niet beschikbaar"', f"    {text(data.tracking_note)}",
                  "    De pagina's tonen daarom geen cijfers. Vraag het datateam om de MLflow-server te starten "
                  "(`proeftuin mlflow`) en bouw de site opnieuw.", ""]
    if not data.pilots:
        lines += ["Er zijn nog geen pilots. Lees [Hoe start ik een pilot?](../pilot-starten.md) om er een te beginnen."]
        return "\n".join(lines) + "\n"
    lines += ["| Pilot | Vraag | Eigenaar | Thema | Fase | Resultaat kampioensmodel |",
              "| --- | --- | --- | --- | --- | --- |"]
    for entry in data.pilots:
        m = entry.manifest
        if m is None:
            lines.append(f"| {_link(entry)} | onvolledig: zie de pagina | — | — | — | — |")
            continue
        result = _champion_result(entry)
        source = data.by_slug(m.forked_from)
        origin = f" (kopie van {_link(source)})" if source else ""
        lines.append(f"| {_link(entry)}{origin} | {text(m.question)} | {text(data.org_name(m.owner))} | "
                     f"[{text(m.theme)}](../{OVERVIEW_DIR}/themas.md#{anchor(m.theme)}) | "
                     f"[{text(m.stage)}](../{OVERVIEW_DIR}/fasen.md#{anchor(m.stage)}) | {result} |")
    return "\n".join(lines) + "\n"


def _problems_block(entry: PilotEntry) -> list[str]:
    where = Path(entry.problem_file or entry.path)
    try:
        shown = where.relative_to(entry.path.parent.parent)
    except ValueError:
        shown = where
    lines = ['!!! danger "Deze pilot is onvolledig"',
             f"    Het platform kon niet alles lezen. Probleem in `{attr(shown)}`:", ""]
    lines += [f"    - {text(problem)}" for problem in entry.problems]
    lines += ["", "    **Wat nu?** De eigenaar van de pilot past het bestand aan en controleert het met "
              "`proeftuin validate`. Een voorbeeld van een volledige pilot vind je in "
              "[Hoe start ik een pilot?](../pilot-starten.md).", ""]
    return lines


def _front_matter(title: str) -> list[str]:
    """The page title, HTML-escaped: Material puts `page.meta.title` into <title> and the header unescaped."""
    return ["---", f"title: {json.dumps(attr(title))}", "---", ""]


def pilot_page(entry: PilotEntry, data: SiteData) -> str:
    lines = [*_front_matter(entry.title), f"# {text(entry.title)}", "", "[← Alle pilots](index.md)", ""]
    if entry.broken:
        lines += _problems_block(entry)
    m = entry.manifest
    if m is None:
        lines += ["Omdat het manifest (`pilot.yaml`) niet te lezen is, toont deze pagina geen verdere gegevens.", ""]
        return "\n".join(lines) + "\n"
    lines += [f"**Vraag:** {text(m.question)}", "", "## In het kort", "",
              "| Kenmerk | Waarde |", "| --- | --- |",
              f"| Eigenaar | [{text(data.org_name(m.owner))}](../{OVERVIEW_DIR}/organisaties.md#{anchor(m.owner)}) |",
              f"| Doen mee | {_orgs(data, m.participants)} |",
              f"| Thema | [{text(m.theme)}](../{OVERVIEW_DIR}/themas.md#{anchor(m.theme)}) |",
              f"| Fase | [{text(m.stage)}](../{OVERVIEW_DIR}/fasen.md#{anchor(m.stage)}) |",
              f"| Sjabloon | {text(m.template)} |",
              f"| Persoonsgegevens | {'ja, ze worden verwijderd vóór training en logging' if m.personal_data else 'nee'} |",
              f"| Risicoklasse AI-verordening | {text(m.ai_act.risk_class)} |"]
    if m.forked_from:
        source = data.by_slug(m.forked_from)
        origin = (f"{_link(source)} ({text(data.org_name(source.manifest.owner))})" if source else
                  f"{text(m.forked_from)} (die pilot staat niet meer in de proeftuin)")
        lines.append(f"| Gebaseerd op | {origin} |")
    if forks := data.forks(m.slug):
        lines.append("| Hergebruikt door | " + ", ".join(
            f"{_link(fork)} ({text(data.org_name(fork.manifest.owner))})" for fork in forks) + " |")
    lines += ["", "## Gegevens", "", "| Bestand | Beschrijving | Herkomst | Licentie | Persoonsgegevens |",
              "| --- | --- | --- | --- | --- |"]
    for source in m.data:
        lines.append(f"| {text(source.path)} | {text(source.description) or '—'} | {text(source.source) or '—'} | "
                     f"{text(source.licence)} | {'ja' if source.personal_data else 'nee'} |")
    lines += ["", "## Menselijk toezicht", "", text(m.human_oversight.description), ""]
    if m.human_oversight.threshold_parameter:
        name = m.human_oversight.threshold_parameter
        lines += [f"De drempel staat in de parameter <code>{text(name)}</code> "
                  f"(standaard {text(number(m.parameters.get(name)) if isinstance(m.parameters.get(name), float) else m.parameters.get(name))}).",
                  ""]
    risk = RISK_CLASSES.get(m.ai_act.risk_class, m.ai_act.risk_class)
    lines += ["## AI-verordening", "", f"**Risicoklasse:** {text(risk)}.", "", f"**Waarom:** {text(m.ai_act.reasoning)}",
              "", "Iedereen die met dit systeem werkt, moet weten wat het kan en niet kan "
              "(de plicht tot AI-geletterdheid, zie [AI-geletterdheid](../ai-geletterdheid.md)).", ""]
    lines += _results_section(entry, m, data)
    lines += _family_section(entry, m, data)
    lines += _lessons_section(entry)
    lines += _reuse_section(entry, m, data)
    return "\n".join(lines) + "\n"


def _bar_chart(m: Manifest, bars: list[tuple[str, float, str]]) -> list[str]:
    """An accessible HTML/CSS bar chart: each bar has its label and value as text, the bar itself is decoration."""
    top = max([1.0] + [value for _, value, _ in bars]) if all(v >= 0 for _, v, _ in bars) else None
    direction = wording.direction(m.metric.greater_is_better)
    caption = f"{metric_label(m.metric.name)} per organisatie tegenover de baseline ({direction})"
    rows = [f'<figure class="pt-chart"><figcaption>{attr(caption)}</figcaption>']
    for label, value, css in bars:
        width = 0 if top is None else max(0.0, min(100.0, 100 * value / top))
        rows.append(f'<div class="pt-chart__row {css}"><span class="pt-chart__label">{attr(label)}</span>'
                    f'<span class="pt-chart__track" aria-hidden="true"><span class="pt-chart__bar" '
                    f'style="width: {width:.1f}%"></span></span>'
                    f'<span class="pt-chart__value">{wording.value(m.metric.name, value)}</span></div>')
    rows.append("</figure>")
    return ["".join(rows), ""]


def _results_section(entry: PilotEntry, m: Manifest, data: SiteData) -> list[str]:
    r = entry.results
    metric = m.metric
    name = metric_label(metric.name)
    lines = ["## Resultaten", ""]
    if r.unavailable:
        return lines + ['!!! warning "Resultaten niet beschikbaar"', f"    {text(r.unavailable)}",
                        "    Vraag het datateam om de MLflow-server te starten en de site opnieuw te bouwen.", ""]
    if not r.best_per_organisation and r.baseline_run is None:
        return lines + [f"Er zijn nog geen runs. Start er een met `proeftuin run {attr(m.slug)} --org <jouw organisatie>`; "
                        "bij de volgende bouw staan de cijfers hier.", ""]
    direction = wording.direction(metric.greater_is_better)
    if explanation := wording.explain(metric.name):
        lines += [f"**{text(name)}**: {text(explanation)}", ""]
    lines += [f"De hoofdmaat is **{text(name)}** ({direction}). Alle cijfers komen van testdata die het model "
              f"tijdens het trainen niet zag. In totaal {number(r.run_count, 0)} run(s).", ""]
    baseline_value = r.baseline_run.value if r.baseline_run else metric.baseline
    if baseline_value is not None:
        how = text(metric.baseline_description) if metric.baseline_description else "een eenvoudige aanpak"
        where = "de beste baseline-run in MLflow" if r.baseline_run else "volgens het manifest"
        if r.baseline_run and metric.baseline is not None:
            where += f"; het manifest vermeldt {wording.value(metric.name, metric.baseline)} op de volledige data"
        lines += [f"**Baseline** ({how}): {wording.value(metric.name, baseline_value)} ({where}).", ""]
    if r.best_per_organisation:
        lines += ["### Beste run per organisatie", "",
                  f"| Organisatie | {text(name)} | Tegenover baseline | Datum | Kampioen |", "| --- | --- | --- | --- | --- |"]
        for row in r.best_per_organisation:
            diff = wording.difference(metric.name, row.value, baseline_value)
            champion = "ja" if r.champion and r.champion.run_id == row.run_id else ""
            lines.append(f"| {text(data.org_name(row.organisation))} | {wording.value(metric.name, row.value)} | "
                         f"{text(diff)} | "
                         f"{date(row.start_time)} | {champion} |")
        lines.append("")
        bars = [(data.org_name(row.organisation), row.value, "") for row in r.best_per_organisation
                if row.value is not None]
        if baseline_value is not None:
            bars.append(("Baseline", baseline_value, "pt-chart__row--baseline"))
        lines += _bar_chart(m, bars)
    if r.champion:
        lines += ["### Het kampioensmodel", "",
                  f"Het beste model tot nu toe is versie {text(r.champion_version)} van "
                  f"{text(data.org_name(r.champion.organisation))} ({date(r.champion.start_time)}), met "
                  f"{text(wording.technical(metric.name, r.champion.value))}: "
                  f"{text(wording.in_words(metric.name, r.champion.value))}. "
                  "De demo en `proeftuin predict` gebruiken dit model.", ""]
        for artifact, (file_name, alt) in PLOTS.items():
            if file_name in r.plots:
                lines += [f"![{text(alt)}]({quote(entry.folder)}/{file_name})", ""]
    return lines


def _family_section(entry: PilotEntry, m: Manifest, data: SiteData) -> list[str]:
    """The original and its copies in other organisations (`proeftuin new --from`), side by side."""
    members = data.family(entry)
    if len(members) < 2:
        return []
    lines = ["## Familie", "",
             "Deze pilot bestaat ook in andere organisaties: elk werkt met een eigen kopie op eigen gegevens. "
             "Zo zie je wie hetzelfde probeert en hoe ver ze staan.", "",
             "| Pilot | Eigenaar | Gebaseerd op | Fase | Resultaat kampioensmodel |", "| --- | --- | --- | --- | --- |"]
    for member, _depth in members:
        mm = member.manifest
        name = f"**{text(member.title)}** (deze pagina)" if member is entry else _link(member)
        source = data.by_slug(mm.forked_from)
        origin = _link(source) if source else (text(mm.forked_from) if mm.forked_from else "origineel")
        result = _champion_result(member)
        lines.append(f"| {name} | {text(data.org_name(mm.owner))} | {origin} | {text(mm.stage)} | {result} |")
    lines += ["", f"Alle runs van de familie naast elkaar: `proeftuin compare {attr(m.slug)} --family` "
              "(met `--by organisation` de beste per organisatie).", ""]
    return lines


def _lesson_sections(markdown: str) -> dict[str, str]:
    """LESSONS.md split on its fixed `## ` headings (heading -> body)."""
    sections: dict[str, str] = {}
    current = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = line.strip()
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    return {k: v.strip() for k, v in sections.items()}


def safe_markdown(markdown: str) -> str:
    """A pilot's own Markdown (LESSONS.md) without raw HTML or attribute injection; links stay links."""
    return markdown.replace("<", "&lt;").replace("{", "&#123;")


def _lessons_section(entry: PilotEntry) -> list[str]:
    lines = ["## Lessen", ""]
    if entry.lessons is None:
        return lines + ['!!! warning "Nog geen lessen"',
                        f"    Het bestand `{LESSONS}` ontbreekt in de pilotmap. De eigenaar voegt het toe met de "
                        "vier vaste koppen: " + ", ".join(f"'{h[3:]}'" for h in LESSONS_HEADINGS) + ".", ""]
    sections = _lesson_sections(entry.lessons)
    for heading in LESSONS_HEADINGS:
        body = sections.get(heading)
        lines += [f"### {heading[3:]}", "", safe_markdown(body) if body else "_(nog niet ingevuld)_", ""]
    return lines


def _reuse_section(entry: PilotEntry, m: Manifest, data: SiteData) -> list[str]:
    settings = data.settings
    gallery = f"{settings.public_url('gallery')}/demo/{m.slug}"
    lines = ["## Hergebruiken in je eigen organisatie", "",
             "Deze pilot werkt ook op de gegevens van jouw organisatie. Zo pak je het aan:", "",
             f"1. Vraag de eigenaar ({text(data.org_name(m.owner))}) om je toe te voegen als deelnemer "
             "(`participants` in `pilot.yaml`).",
             "2. Zorg voor een export van je eigen gegevens als CSV-bestand. Bevat ze persoonsgegevens, spreek dan eerst "
             "af met je DPO wat mag.",
             f"3. Train het model op jouw gegevens: `proeftuin run {attr(m.slug)} --org <jouw organisatie> "
             "--data <jouw bestand>.csv`. Heten je kolommen anders, geef ze dan mee met `--param`.",
             f"4. Vergelijk je resultaat met dat van de anderen: `proeftuin compare {attr(m.slug)} --by organisation`, "
             "of kijk hierboven na de volgende bouw van deze site.",
             "5. Spreek samen met de medewerkers af wanneer een mens beslist (zie Menselijk toezicht hierboven), "
             "en schrijf op wat je leerde in `LESSONS.md`.", "",
             f"Wil je er liever zelf mee verder, met je eigen fiche en lessen? Maak dan een eigen kopie: "
             f"`proeftuin new --from {attr(m.slug)} --org <jouw organisatie>`. Die blijft aan deze pilot gekoppeld: "
             "ze staat hier bij de familie, en `proeftuin compare --family` zet jullie runs naast elkaar.", "",
             "## Links", "",
             f'- <a href="{attr(gallery)}">Demo van deze pilot</a> (in de galerij, ook op je gsm)']
    if entry.results.experiment_id:
        mlflow_url = f"{settings.public_url('mlflow')}/#/experiments/{entry.results.experiment_id}"
        lines.append(f'- <a href="{attr(mlflow_url)}">Alle runs in MLflow</a> (voor wie de cijfers in detail wil zien)')
    else:
        lines.append(f"- MLflow: nog geen experiment voor deze pilot (het ontstaat bij de eerste `proeftuin run {attr(m.slug)}`).")
    return lines + [""]


def themes_page(data: SiteData) -> str:
    lines = ["# Pilots per thema", "",
             "Het programma digitale transformatie heeft zeven thema's. Zo vind je pilots die aansluiten bij "
             "waar jouw dienst mee bezig is.", ""]
    valid = [e for e in data.pilots if e.manifest]
    theme_names: list[str] = list(Theme.__args__)  # type: ignore[attr-defined]
    for theme in theme_names:
        pilots = [e for e in valid if e.manifest.theme == theme]
        lines += [f"## {text(theme.capitalize())} {{#{anchor(theme)}}}", "", text(THEMES.get(theme, "")), ""]
        lines += [f"- {_link(e, '../pilots/')}: {text(e.manifest.question)} ({text(e.manifest.stage)})"
                  for e in pilots] or ["Nog geen pilot binnen dit thema. Heb je een idee? "
                                       "Lees [Hoe start ik een pilot?](../pilot-starten.md)."]
        lines.append("")
    return "\n".join(lines) + "\n"


def stages_page(data: SiteData) -> str:
    lines = ["# Pilots per fase", "",
             "Een pilot groeit in vier fasen: van idee over experiment en pilot naar opschalen.", ""]
    valid = [e for e in data.pilots if e.manifest]
    for stage, description in STAGES.items():
        pilots = [e for e in valid if e.manifest.stage == stage]
        lines += [f"## {text(stage.capitalize())} {{#{anchor(stage)}}}", "", text(description), ""]
        lines += [f"- {_link(e, '../pilots/')} ({text(data.org_name(e.manifest.owner))}, {text(e.manifest.theme)})"
                  for e in pilots] or ["Nog geen pilot in deze fase."]
        lines.append("")
    return "\n".join(lines) + "\n"


def organisations_page(data: SiteData) -> str:
    lines = ["# Pilots per organisatie", "",
             f"De {len(data.settings.organisations)} organisaties van de proeftuin en de pilots waarin ze eigenaar "
             "zijn of meedoen. Staat jouw organisatie er nog zonder pilot? Sluit aan bij een bestaande pilot of "
             "start er zelf een.", ""]
    valid = [e for e in data.pilots if e.manifest]
    for org in data.settings.organisations:
        lines += [f"## {text(org.name)} {{#{anchor(org.slug)}}}", "", f"_{text(org.kind)}_", ""]
        owned = [e for e in valid if e.manifest.owner == org.slug]
        joined = [e for e in valid if org.slug in e.manifest.participants and e.manifest.owner != org.slug]
        for label, entries in (("Eigenaar van", owned), ("Doet mee aan", joined)):
            if entries:
                lines.append(f"**{label}:**")
                lines.append("")
                for e in entries:
                    own = next((r for r in e.results.best_per_organisation if r.organisation == org.slug), None)
                    result = f"; eigen beste resultaat {text(wording.technical(e.manifest.metric.name, own.value))}" \
                        if own else ""
                    lines.append(f"- {_link(e, '../pilots/')} ({text(e.manifest.stage)}{result})")
                lines.append("")
        if not owned and not joined:
            lines += ["Nog geen pilot. Bekijk de pilots [per thema](themas.md) om aan te sluiten, of lees "
                      "[Hoe start ik een pilot?](../pilot-starten.md).", ""]
    return "\n".join(lines) + "\n"


def lessons_page(data: SiteData) -> str:
    lines = ["# Recente lessen", "",
             "Wat collega's leerden, de laatst bijgewerkte eerst. Het volledige verhaal staat op de pagina van elke pilot.",
             ""]
    recent = sorted((e for e in data.pilots if e.lessons), key=lambda e: e.lessons_mtime, reverse=True)
    if not recent:
        return "\n".join(lines + ["Nog geen lessen gedeeld."]) + "\n"
    for entry in recent[:RECENT_LESSONS]:
        sections = _lesson_sections(entry.lessons or "")
        day = date(entry.lessons_mtime * 1000)
        lines += [f"## {_link(entry, '../pilots/')}", "", f"_Bijgewerkt op {day}._", ""]
        for heading in ("## Wat werkte", "## Volgende stap"):
            if body := sections.get(heading):
                lines += [f"**{heading[3:]}**", "", safe_markdown(body), ""]
    return "\n".join(lines) + "\n"


def _idea_date(created_at: str) -> str:
    try:
        return date(dt.datetime.fromisoformat(created_at).timestamp() * 1000)
    except (TypeError, ValueError):
        return text(created_at)


def _filled(value: str) -> str:
    return text(value) if value.strip() else "_niet ingevuld_"


def ideas_page(data: SiteData) -> str:
    """Every proposed question (free text from users: all of it through `text`, so it stays inert)."""
    lines = ["# Ideeën", "",
             "Vragen uit de organisaties die misschien met AI op te lossen zijn. Elke medewerker kan er een "
             "voorstellen op de startpagina van de proeftuin (**Een vraag voorstellen**). Heeft jouw organisatie dezelfde vraag? "
             "Zeg dan daar **wij ook**: hoe meer organisaties meedoen, hoe sneller een idee een pilot wordt. "
             "Hoe dat gaat, lees je in [Hoe start ik een pilot?](../pilot-starten.md#een-vraag-voorstellen).", ""]
    if data.ideas_note:
        lines += ['!!! warning "Ideeën niet beschikbaar"', f"    {text(data.ideas_note)}",
                  "    Vraag de beheerder van de proeftuin om het na te kijken.", ""]
    if not data.ideas:
        if not data.ideas_note:
            lines.append("Er zijn nog geen ideeën voorgesteld. Wees de eerste!")
        return "\n".join(lines) + "\n"
    lines += ["| Nr. | Vraag | Organisatie | Datum | Wij ook | Fase |", "| --- | --- | --- | --- | --- | --- |"]
    for idea in data.ideas:
        lines.append(f"| [{idea.id}](#idee-{idea.id}) | {text(idea.title)} | "
                     f"{text(data.org_name(idea.organisation))} | {_idea_date(idea.created_at)} | {len(idea.supporters)} | {text(idea.stage)} |")
    lines.append("")
    for idea in data.ideas:
        support = (f"{len(idea.supporters)}: {_orgs(data, idea.supporters)}" if idea.supporters else
                   "nog geen andere organisatie")
        pilot = data.by_slug(idea.pilot) if idea.pilot else None
        became = (_link(pilot, "../pilots/") if pilot else
                  f"{text(idea.pilot)} (nog niet in de proeftuin)" if idea.pilot else "nog geen pilot")
        lines += [f"## Idee {idea.id}: {text(idea.title)} {{#idee-{idea.id}}}", "",
                  f"**Vraag:** {text(idea.question)}", "",
                  "| Kenmerk | Waarde |", "| --- | --- |",
                  f"| Wie stelt de vraag | {_filled(idea.asked_by)} |",
                  f"| Dienst | {_filled(idea.service)} |",
                  f"| Welke gegevens er zijn | {_filled(idea.data_available)} |",
                  f"| Persoonsgegevens | {'ja' if idea.personal_data else 'nee'} |",
                  f"| Wat een goed antwoord zou veranderen | {_filled(idea.impact)} |",
                  f"| Voorgesteld door | {text(data.org_name(idea.organisation))}, op {_idea_date(idea.created_at)} |",
                  f"| Wij ook | {support} |",
                  f"| Fase | {text(idea.stage)} |",
                  f"| Werd de pilot | {became} |", ""]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# Build and serve
# --------------------------------------------------------------------------------------------------

_TAG = re.compile(r"<[a-zA-Z][^>]*>")
_UNSAFE_URL = re.compile(r"""(?P<attr>\s(?:href|src|action|formaction|xlink:href)\s*=\s*)(?P<q>["']?)\s*"""
                         r"""(?:javascript|vbscript|data):[^"'\s>]*(?P=q)""", re.IGNORECASE)
_EVENT_ATTR = re.compile(r"""\s+on[a-z]+\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)


def _clean_tag(match: re.Match[str]) -> str:
    tag = _UNSAFE_URL.sub(lambda m: f'{m.group("attr")}"#"', match.group())
    return _EVENT_ATTR.sub("", tag)


def sanitize_html(content: str) -> str:
    """Last line of defence for generated pages: no script URLs, no event handlers (inside tags only)."""
    return _TAG.sub(_clean_tag, content)


def mkdocs_config_file(settings: Settings) -> Path:
    path = settings.project_root / MKDOCS_FILE
    if not path.is_file():
        raise ProeftuinError(f"{path} ontbreekt: zonder dat bestand kan de site niet gebouwd worden.",
                             "Start het commando in de projectmap van Proeftuin.")
    return path


def default_site_dir(settings: Settings) -> Path:
    return settings.state_dir / "site"


#: Between `build_site` and the hooks, which MkDocs loads as a module of its own: the settings to build with
#: (the docs service's, whose links go through the hub) and, after the build, why MLflow gave no results.
build_context: dict[str, Any] = {"settings": None, "tracking_note": None}


def build_site(settings: Settings, output: Path | None = None, strict: bool = False) -> Path:
    """Build the site into `output` (default `<state>/site`). Strict: broken pilots and warnings fail."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, ConfigurationError

    if strict:  # name the first broken file before MkDocs starts, as `proeftuin validate` would
        discover_pilots(settings.pilots_dir, {o.slug for o in settings.organisations}, strict=True)
    site_dir = (output or default_site_dir(settings)).resolve()
    docs_dir = (settings.project_root / "docs").resolve()
    if site_dir == docs_dir or docs_dir in site_dir.parents:
        raise ProeftuinError(f"De site kan niet in {docs_dir} gebouwd worden: daar staan de bronpagina's.",
                             "Kies met --output een map buiten docs/.")
    _route_mkdocs_logging()
    build_context.update(settings=settings, tracking_note=None)
    try:
        config = load_config(str(mkdocs_config_file(settings)), site_dir=str(site_dir), strict=strict)
        build(config)
    except (Abort, ConfigurationError) as exc:
        raise ProeftuinError(f"De site kon niet gebouwd worden: {exc}",
                             "Los de waarschuwingen hierboven op, of bouw zonder --strict.") from exc
    finally:
        build_context["settings"] = None
    return site_dir


def _route_mkdocs_logging() -> None:
    """MkDocs' own messages (warnings and up) on stderr, as `mkdocs build` would show them."""
    logger = logging.getLogger("mkdocs")
    if not any(getattr(h, "_proeftuin", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)-7s - %(message)s"))
        handler.setLevel(logging.WARNING)
        handler._proeftuin = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        return


def site_server(directory: Path, host: str, port: int) -> ThreadingHTTPServer:
    """A static file server for a built site (the caller runs `serve_forever`)."""
    return ThreadingHTTPServer((host, port), partial(_QuietHandler, directory=str(directory)))
