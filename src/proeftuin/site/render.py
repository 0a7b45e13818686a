"""The generated pages: a card per pilot (results, family, lessons, reuse), the overviews by theme, stage
and organisation, the recent lessons and the ideas, as Markdown keyed by their path in the site.

Every string from a manifest goes through `text` (or `attr` inside HTML), and a pilot's own Markdown
through `safe_markdown` (see `sanitise`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from proeftuin import wording
from proeftuin.pilot import LESSONS_HEADINGS, Manifest, Theme
from proeftuin.pilot import lessons as lessons_md
from proeftuin.site import accountability
from proeftuin.site.collect import LESSONS, OVERVIEW_DIR, PILOTS_DIR, PLOTS, PilotEntry, SiteData
from proeftuin.site.sanitise import attr, safe_markdown, text
from proeftuin.text import anchor
from proeftuin.wording import date, metric_label, number

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
    "gestopt": "Bewust gestopt, met een reden. Wat de pilot leerde, blijft staan voor wie iets gelijkaardigs wil.",
}
RISK_CLASSES = {
    "minimaal": "minimaal risico: geen extra verplichtingen, wel AI-geletterdheid en goede praktijk",
    "beperkt": "beperkt risico: transparantieplicht (mensen weten dat ze met AI te maken hebben)",
    "hoog": "hoog risico: strenge eisen (risicobeheer, documentatie, menselijk toezicht, registratie)",
    "onaanvaardbaar": "onaanvaardbaar risico: verboden toepassing, mag niet ingezet worden",
}
RECENT_LESSONS = 10
IDEAS_PAGE = "ideeen.md"  # under OVERVIEW_DIR; each idea has the anchor idee-<id>


def render_pages(data: SiteData) -> dict[str, str | bytes]:
    """Every generated page (Markdown) and image (PNG bytes), keyed by its path in the site."""
    pages: dict[str, str | bytes] = {f"{PILOTS_DIR}/index.md": pilots_index(data)}
    records = {entry.slug: accountability.records(entry, data) for entry in data.pilots}
    for entry in data.pilots:
        pages[entry.page] = pilot_page(entry, data, records[entry.slug])
        for name, content in entry.results.plots.items():
            pages[f"{PILOTS_DIR}/{entry.folder}/{name}"] = content
        pages.update(accountability.record_files(entry, records[entry.slug]))
    pages[f"{OVERVIEW_DIR}/themas.md"] = themes_page(data)
    pages[f"{OVERVIEW_DIR}/organisaties.md"] = organisations_page(data)
    pages[f"{OVERVIEW_DIR}/fasen.md"] = stages_page(data)
    pages[f"{OVERVIEW_DIR}/lessen.md"] = lessons_page(data)
    pages[f"{OVERVIEW_DIR}/{IDEAS_PAGE}"] = ideas_page(data)
    pages[f"{OVERVIEW_DIR}/{accountability.REGISTER_PAGE}"] = accountability.register_page(data, records)
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


def pilot_page(entry: PilotEntry, data: SiteData, found: list[accountability.Record] | None = None) -> str:
    lines = [*_front_matter(entry.title), f"# {text(entry.title)}", "", "[← Alle pilots](index.md)", ""]
    if entry.broken:
        lines += _problems_block(entry)
    m = entry.manifest
    if m is None:
        lines += ["Omdat het manifest (`pilot.yaml`) niet te lezen is, toont deze pagina geen verdere gegevens.", ""]
        return "\n".join(lines) + "\n"
    personal = "ja, ze worden verwijderd vóór training en logging" if m.personal_data else "nee"
    lines += [f"**Vraag:** {text(m.question)}", "", "## In het kort", "",
              "| Kenmerk | Waarde |", "| --- | --- |",
              f"| Eigenaar | [{text(data.org_name(m.owner))}](../{OVERVIEW_DIR}/organisaties.md#{anchor(m.owner)}) |",
              f"| Doen mee | {_orgs(data, m.participants)} |",
              f"| Thema | [{text(m.theme)}](../{OVERVIEW_DIR}/themas.md#{anchor(m.theme)}) |",
              f"| Fase | [{text(m.stage)}](../{OVERVIEW_DIR}/fasen.md#{anchor(m.stage)}) |",
              f"| Sjabloon | {text(m.template)} |",
              f"| Persoonsgegevens | {personal} |",
              f"| Risicoklasse AI-verordening | [{text(RISK_CLASSES.get(m.ai_act.risk_class, m.ai_act.risk_class))}]"
              "(#verantwoording) |"]
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
        default = m.parameters.get(name)
        shown = number(default) if isinstance(default, float) else default
        lines += [f"De drempel staat in de parameter <code>{text(name)}</code> (standaard {text(shown)}).", ""]
    lines += _results_section(entry, m, data)
    lines += _family_section(entry, m, data)
    lines += _lessons_section(entry)
    lines += _reuse_section(entry, m, data)
    lines += accountability.section(entry, m, data, found if found is not None else accountability.records(entry, data))
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
        return lines + [f"Er zijn nog geen runs. Start er een met `proeftuin run {attr(m.slug)} "
                        "--org <jouw organisatie>`; bij de volgende bouw staan de cijfers hier.", ""]
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
                  f"| Organisatie | {text(name)} | Tegenover baseline | Datum | Kampioen |",
                  "| --- | --- | --- | --- | --- |"]
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
        for file_name, alt in PLOTS.values():
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
    """LESSONS.md split on its `## ` headings (`## heading` -> body), by the one parser (pilot.lessons)."""
    return lessons_md.parse(markdown).by_heading()



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
             "2. Zorg voor een export van je eigen gegevens als CSV-bestand. Bevat ze persoonsgegevens, "
             "spreek dan eerst af met je DPO wat mag.",
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
        lines.append("- MLflow: nog geen experiment voor deze pilot "
                     f"(het ontstaat bij de eerste `proeftuin run {attr(m.slug)}`).")
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
             "Een pilot groeit in vier fasen: van idee over experiment en pilot naar opschalen. Een pilot kan "
             "ook gestopt worden. Een stap zet je alleen op bewijs (zie [Verantwoording](../verantwoording.md)).", ""]
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
             "Wat collega's leerden, de laatst bijgewerkte eerst. "
             "Het volledige verhaal staat op de pagina van elke pilot.",
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
             "voorstellen op de startpagina van de proeftuin (**Een vraag voorstellen**). "
             "Heeft jouw organisatie dezelfde vraag? "
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
                     f"{text(data.org_name(idea.organisation))} | {_idea_date(idea.created_at)} | "
                     f"{len(idea.supporters)} | {text(idea.stage)} |")
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
